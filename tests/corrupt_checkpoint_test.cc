// Damaged and hostile model versions in the store: each is refused with its
// reason (in GetModel and in the log), the previous version keeps serving,
// and health stays SERVING while a version of the model is served.
#include <fcntl.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/client_unary_call.h>
#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "common/store/files.h"
#include "common/store/sha256.h"
#include "common/store/store_json.h"
#include "tests/cluster.h"
#include "tests/health_probe.h"
#include "tests/test_support.h"

namespace gridcast::testing {
namespace {

using Catch::Matchers::Contains;
namespace fs = std::filesystem;

constexpr char kModel[] = "feeder-66";

// A version directory the test fills by hand.
struct Damage {
  const char* name;
  // Writes the damaged version into `directory`, from version 1's files.
  std::function<void(const std::string& directory, const std::string& manifest,
                     const std::string& weights)>
      write;
  const char* reason;
};

void Write(const std::string& path, const std::string& bytes) {
  REQUIRE(WriteFileDurably(path, bytes).ok());
}

// The manifest with its checksum set to that of `weights`: a writer that
// damaged the weights before hashing them, or one that means harm.
std::string Rehashed(const std::string& manifest_json,
                     const std::string& weights) {
  store::v1::Manifest manifest;
  REQUIRE(FromJson(manifest_json, "manifest.json", &manifest).ok());
  manifest.set_weights_sha256(Sha256Hex(weights));
  return *ToJson(manifest);
}

std::vector<Damage> Damages() {
  return {
      {"truncated weights",
       [](const std::string& d, const std::string& m, const std::string& w) {
         Write(d + "/manifest.json", m);
         Write(d + "/weights.pt", w.substr(0, w.size() / 2));
       },
       "sha256"},
      {"truncated weights whose checksum was updated to match",
       [](const std::string& d, const std::string& m, const std::string& w) {
         const std::string cut = w.substr(0, w.size() / 2);
         Write(d + "/manifest.json", Rehashed(m, cut));
         Write(d + "/weights.pt", cut);
       },
       "weights.pt does not load"},
      {"a flipped bit in the weights",
       [](const std::string& d, const std::string& m, std::string w) {
         w[w.size() / 3] ^= 0x10;
         Write(d + "/manifest.json", m);
         Write(d + "/weights.pt", w);
       },
       "does not match manifest"},
      {"no manifest",
       [](const std::string& d, const std::string&, const std::string& w) {
         Write(d + "/weights.pt", w);
       },
       "manifest.json missing"},
      {"a manifest of random bytes",
       [](const std::string& d, const std::string&, const std::string& w) {
         Write(d + "/manifest.json", std::string("\x93\x01\xfe{\"spec\":", 10));
         Write(d + "/weights.pt", w);
       },
       "manifest.json is not a valid"},
      {"a manifest that is JSON but of the wrong types",
       [](const std::string& d, const std::string&, const std::string& w) {
         Write(d + "/manifest.json", "{\"model\": 17, \"spec\": [1, 2]}");
         Write(d + "/weights.pt", w);
       },
       "manifest.json is not a valid"},
      {"no weights",
       [](const std::string& d, const std::string& m, const std::string&) {
         Write(d + "/manifest.json", m);
       },
       "weights.pt missing"},
      {"an empty version directory",
       [](const std::string&, const std::string&, const std::string&) {},
       "manifest.json missing"},
      {"a manifest whose shapes do not match its weights",
       [](const std::string& d, const std::string& m, const std::string& w) {
         store::v1::Manifest manifest;
         REQUIRE(FromJson(m, "manifest.json", &manifest).ok());
         manifest.mutable_spec()->mutable_mlp()->set_hidden_sizes(0, 32);
         Write(d + "/manifest.json", *ToJson(manifest));
         Write(d + "/weights.pt", w);
       },
       "has shape"},
      {"a manifest naming another model",
       [](const std::string& d, const std::string& m, const std::string& w) {
         store::v1::Manifest manifest;
         REQUIRE(FromJson(m, "manifest.json", &manifest).ok());
         manifest.set_model("feeder-67");
         Write(d + "/manifest.json", *ToJson(manifest));
         Write(d + "/weights.pt", w);
       },
       "names model"},
      {"a manifest with an unusable normalisation",
       [](const std::string& d, const std::string& m, const std::string& w) {
         store::v1::Manifest manifest;
         REQUIRE(FromJson(m, "manifest.json", &manifest).ok());
         manifest.mutable_normalisation()->set_stddev(0);
         Write(d + "/manifest.json", *ToJson(manifest));
         Write(d + "/weights.pt", w);
       },
       "normalisation is unusable"},
  };
}

struct ServedCluster {
  Cluster cluster{ClusterOptions{/*inference_polls=*/false}};
  std::vector<double> load = SyntheticHourlyLoad(5 * 7 * 24);
  std::string model_dir;
  std::string manifest;
  std::string weights;

  ServedCluster() {
    v1::UploadHistoryResponse uploaded;
    REQUIRE(cluster.Upload(kModel, kSyntheticStartTime, load, &uploaded).ok());
    v1::CreateTrainingJobRequest job =
        QuickJob(kModel, uploaded.dataset().id());
    job.mutable_spec()->set_input_window(24);
    job.mutable_spec()->set_horizon(6);
    job.mutable_spec()->mutable_mlp()->set_hidden_sizes(0, 16);
    job.mutable_options()->set_max_epochs(2);
    REQUIRE(cluster.TrainAndWait(job).state() == v1::JOB_STATE_SUCCEEDED);
    cluster.inference().watcher()->PollOnce();
    REQUIRE(cluster.inference().registry()->ServedVersion(kModel) == 1);

    model_dir = cluster.store_root() + "/models/" + kModel;
    manifest = *ReadFileToString(model_dir + "/1/manifest.json");
    weights = *ReadFileToString(model_dir + "/1/weights.pt");
  }

  // Polls the store once and checks that `version` was refused for
  // `reason` while version 1 goes on serving.
  void RequireRefused(int64_t version, const std::string& reason,
                      const std::function<void()>& around_poll = nullptr) {
    std::string log;
    {
      StderrCapture capture;
      if (around_poll) {
        around_poll();
      } else {
        cluster.inference().watcher()->PollOnce();
      }
      log = capture.Text();
    }
    CHECK_THAT(log,
               Contains("event=version_refused model=" + std::string(kModel) +
                        " version=" + std::to_string(version)));
    CHECK_THAT(log, Contains(reason));

    grpc::ClientContext get_context;
    v1::GetModelRequest get;
    get.set_model(kModel);
    v1::GetModelResponse described;
    REQUIRE(
        cluster.forecaster_stub().GetModel(&get_context, get, &described).ok());
    CHECK(described.model().served_version() == 1);
    bool found = false;
    for (const v1::ModelVersion& v : described.model().versions()) {
      if (v.version() != version) continue;
      found = true;
      CHECK(v.state() == v1::VERSION_STATE_FAILED);
      CHECK_THAT(v.reason(), Contains(reason));
    }
    CHECK(found);

    grpc::ClientContext context;
    v1::ForecastResponse response;
    const grpc::Status status = cluster.forecaster_stub().Forecast(
        &context,
        Cluster::MakeForecastRequest(kModel, kSyntheticStartTime, load, 24),
        &response);
    CHECK(status.ok());
    CHECK(response.version() == 1);
    CHECK(HealthStatus(cluster.inference_channel(), "") == kHealthServing);
    CHECK(HealthStatus(cluster.inference_channel(),
                       "gridcast.v1.ForecasterService") == kHealthServing);
  }
};

TEST_CASE(
    "each damaged or hostile version is refused with its reason and the "
    "previous one keeps serving",
    "[corrupt]") {
  ServedCluster served;
  int64_t version = 1;
  for (const Damage& damage : Damages()) {
    INFO(damage.name);
    ++version;
    const std::string directory =
        served.model_dir + "/" + std::to_string(version);
    REQUIRE(CreateDirectories(directory).ok());
    damage.write(directory, served.manifest, served.weights);
    served.RequireRefused(version, damage.reason);
  }

  // A good version after all that is served: refusals did not wedge the
  // model.
  const std::string good = served.model_dir + "/" + std::to_string(++version);
  REQUIRE(CreateDirectories(good).ok());
  Write(good + "/manifest.json", served.manifest);
  Write(good + "/weights.pt", served.weights);
  served.cluster.inference().watcher()->PollOnce();
  CHECK(served.cluster.inference().registry()->ServedVersion(kModel) ==
        version);
}

// Whether this thread can be kept out of a chmod 000 directory. Root
// normally is not: its file-system identity is switched to "nobody" for
// the poll (setfsuid is per thread and drops the capabilities that bypass
// permissions), and the store made searchable for others.
class UnprivilegedFileAccess {
 public:
  UnprivilegedFileAccess() : was_root_(geteuid() == 0) {
    if (was_root_) setfsuid(kNobody);
  }
  ~UnprivilegedFileAccess() {
    if (was_root_) setfsuid(0);
  }

 private:
  static constexpr uid_t kNobody = 65534;
  const bool was_root_;
};

bool CanOpen(const std::string& directory) {
  const int fd = open(directory.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) close(fd);
  return fd >= 0;
}

TEST_CASE(
    "an unreadable version directory is refused with its reason and the "
    "previous one keeps serving",
    "[corrupt]") {
  ServedCluster served;
  // What the store wrote is readable by any user; the scratch folder
  // above it must be too, for the unprivileged identity.
  REQUIRE(SetPermissions(served.cluster.store_root(), 0755).ok());
  const std::string directory = served.model_dir + "/2";
  REQUIRE(CreateDirectories(directory).ok());
  Write(directory + "/manifest.json", served.manifest);
  Write(directory + "/weights.pt", served.weights);
  REQUIRE(SetPermissions(directory, 0000).ok());

  {
    UnprivilegedFileAccess unprivileged;
    REQUIRE(CanOpen(served.model_dir));
    // Fails (rather than passing vacuously) where even that cannot take
    // root's access away.
    REQUIRE_FALSE(CanOpen(directory));
  }
  served.RequireRefused(2, "Permission denied", [&] {
    UnprivilegedFileAccess unprivileged;
    served.cluster.inference().watcher()->PollOnce();
  });
  REQUIRE(SetPermissions(directory, 0755).ok());
}

}  // namespace
}  // namespace gridcast::testing
