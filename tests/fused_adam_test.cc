// FusedAdam must be LibTorch's Adam, only faster: the same parameters
// after the same steps, and a state that LibTorch's Adam can read back.
#include "trainer/fused_adam.h"

#include <sstream>

#include <torch/torch.h>

// LibTorch brings glog's CHECK macros; Catch2's must win in this file.
#undef CHECK
#undef CHECK_THAT
#include <catch2/catch.hpp>

namespace gridcast {
namespace {

// A small regression problem, the same for every call.
struct Problem {
  torch::nn::Sequential network{nullptr};
  torch::Tensor inputs, targets;

  Problem() {
    torch::manual_seed(7);
    network = torch::nn::Sequential(
        torch::nn::Linear(12, 40), torch::nn::ReLU(), torch::nn::Linear(40, 5));
    inputs = torch::randn({64, 12});
    targets = torch::randn({64, 5});
  }

  void Steps(torch::optim::Optimizer& optimizer, int count) {
    for (int i = 0; i < count; ++i) {
      optimizer.zero_grad();
      torch::mse_loss(network->forward(inputs), targets).backward();
      optimizer.step();
    }
  }
};

void CheckSameParameters(Problem& a, Problem& b) {
  const auto left = a.network->parameters();
  const auto right = b.network->parameters();
  REQUIRE(left.size() == right.size());
  for (size_t i = 0; i < left.size(); ++i) {
    INFO("parameter " << i << " max difference "
                      << (left[i] - right[i]).abs().max().item<float>());
    // Float rounding differs (the fused loop may contract to FMA); a step
    // taken differently would differ by about the learning rate.
    CHECK(torch::allclose(left[i], right[i], /*rtol=*/1e-5, /*atol=*/2e-5));
  }
}

// The problem twice, one copy stepped by each optimizer.
struct SideBySide {
  explicit SideBySide(const torch::optim::AdamOptions& options)
      : fused(fused_problem.network->parameters(), options),
        plain(plain_problem.network->parameters(), options) {}

  void Steps(int count) {
    fused_problem.Steps(fused, count);
    plain_problem.Steps(plain, count);
  }

  Problem fused_problem, plain_problem;
  FusedAdam fused;
  torch::optim::Adam plain;
};

TEST_CASE("FusedAdam takes LibTorch Adam's steps", "[training]") {
  SideBySide run(torch::optim::AdamOptions(3e-3).betas({0.8, 0.95}).eps(1e-7));
  run.Steps(50);
  CheckSameParameters(run.fused_problem, run.plain_problem);
  // The steps moved the parameters far beyond the tolerance.
  Problem untouched;
  CHECK_FALSE(torch::allclose(run.fused_problem.network->parameters()[0],
                              untouched.network->parameters()[0], 1e-3, 1e-3));
}

TEST_CASE("FusedAdam's state reads back into LibTorch's Adam", "[training]") {
  const auto options = torch::optim::AdamOptions(1e-2);
  SideBySide run(options);
  run.Steps(10);

  // The fused run's moments, restored into a plain Adam over a copy of its
  // parameters, continue exactly as the plain run does.
  torch::serialize::OutputArchive saved;
  run.fused.save(saved);
  std::ostringstream bytes;
  saved.save_to(bytes);
  Problem resumed;
  {
    torch::NoGradGuard no_grad;
    auto target = resumed.network->parameters();
    auto source = run.fused_problem.network->parameters();
    for (size_t i = 0; i < target.size(); ++i) target[i].copy_(source[i]);
  }
  torch::optim::Adam reader(resumed.network->parameters(), options);
  std::istringstream in(bytes.str());
  torch::serialize::InputArchive archive;
  archive.load_from(in);
  reader.load(archive);

  resumed.Steps(reader, 10);
  run.plain_problem.Steps(run.plain, 10);
  CheckSameParameters(resumed, run.plain_problem);
}

TEST_CASE("FusedAdam defers to LibTorch for weight decay", "[training]") {
  SideBySide run(torch::optim::AdamOptions(1e-2).weight_decay(0.1));
  run.Steps(20);
  CheckSameParameters(run.fused_problem, run.plain_problem);
}

}  // namespace
}  // namespace gridcast
