#include "trainer/fit_checkpoint.h"

#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace gridcast {
namespace {

constexpr char kNetwork[] = "network";
constexpr char kOptimizer[] = "optimizer";
constexpr char kGenerator[] = "generator";
constexpr char kBestCount[] = "best_count";
constexpr char kBestLoss[] = "best_loss";
constexpr char kEpochsSinceBest[] = "epochs_since_best";

std::string BestKey(size_t index) { return absl::StrCat("best/", index); }

}  // namespace

absl::StatusOr<std::string> SaveFitState(const FitState& state) {
  try {
    torch::serialize::OutputArchive archive;
    torch::serialize::OutputArchive network;
    state.network->save(network);
    archive.write(kNetwork, network);

    torch::serialize::OutputArchive optimizer;
    state.optimizer->save(optimizer);
    archive.write(kOptimizer, optimizer);

    archive.write(kGenerator, state.generator->get_state(), /*is_buffer=*/true);
    archive.write(kBestCount,
                  torch::tensor(static_cast<int64_t>(state.best->size())),
                  /*is_buffer=*/true);
    for (size_t i = 0; i < state.best->size(); ++i) {
      archive.write(BestKey(i), (*state.best)[i], /*is_buffer=*/true);
    }
    archive.write(kBestLoss, torch::tensor(*state.best_loss, torch::kFloat64),
                  /*is_buffer=*/true);
    archive.write(kEpochsSinceBest,
                  torch::tensor(static_cast<int64_t>(*state.epochs_since_best)),
                  /*is_buffer=*/true);

    std::ostringstream bytes;
    archive.save_to(bytes);
    return bytes.str();
  } catch (const c10::Error& error) {
    return absl::InternalError(absl::StrCat("cannot save the training state: ",
                                            error.what_without_backtrace()));
  }
}

absl::Status RestoreFitState(const std::string& bytes, const FitState& state) {
  try {
    std::istringstream stream(bytes);
    torch::serialize::InputArchive archive;
    archive.load_from(stream);

    torch::serialize::InputArchive network;
    archive.read(kNetwork, network);
    state.network->load(network);

    torch::serialize::InputArchive optimizer;
    archive.read(kOptimizer, optimizer);
    state.optimizer->load(optimizer);

    torch::Tensor generator;
    archive.read(kGenerator, generator, /*is_buffer=*/true);
    state.generator->set_state(generator);

    torch::Tensor count;
    archive.read(kBestCount, count, /*is_buffer=*/true);
    const size_t parameters = state.network->parameters().size();
    if (count.item<int64_t>() != static_cast<int64_t>(parameters)) {
      return absl::DataLossError(
          absl::StrCat("checkpoint holds ", count.item<int64_t>(),
                       " best tensors but the network has ", parameters));
    }
    state.best->assign(parameters, torch::Tensor());
    for (size_t i = 0; i < parameters; ++i) {
      archive.read(BestKey(i), (*state.best)[i], /*is_buffer=*/true);
    }

    torch::Tensor best_loss, epochs_since_best;
    archive.read(kBestLoss, best_loss, /*is_buffer=*/true);
    archive.read(kEpochsSinceBest, epochs_since_best, /*is_buffer=*/true);
    *state.best_loss = best_loss.item<double>();
    *state.epochs_since_best =
        static_cast<int>(epochs_since_best.item<int64_t>());
    return absl::OkStatus();
  } catch (const c10::Error& error) {
    return absl::DataLossError(absl::StrCat("the checkpoint does not load: ",
                                            error.what_without_backtrace()));
  } catch (const std::exception& error) {
    return absl::DataLossError(
        absl::StrCat("the checkpoint does not load: ", error.what()));
  }
}

void OfferCheckpoint(int epoch, const FitState& state,
                     const std::function<void(const TrainingCheckpoint&)>& sink,
                     const std::string& job_id) {
  if (!sink) return;
  absl::StatusOr<std::string> bytes = SaveFitState(state);
  if (!bytes.ok()) {
    LogWarning("checkpoint_not_saved")
        .Field("job", job_id)
        .Field("epoch", epoch)
        .Field("reason", bytes.status());
    return;
  }
  TrainingCheckpoint checkpoint;
  checkpoint.epoch = epoch;
  checkpoint.state = *std::move(bytes);
  sink(checkpoint);
}

}  // namespace gridcast
