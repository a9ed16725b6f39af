#include "common/metrics/grpc_metrics.h"

#include <chrono>

#include "common/metrics/metrics.h"

namespace gridcast::metrics {
namespace {

using grpc::experimental::InterceptionHookPoints;

// What Prometheus users of gRPC expect in the code label.
const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "UNKNOWN";
  }
}

struct ServerMetrics {
  Family<Counter>& handled;
  Family<Histogram>& latency;
};

ServerMetrics& Metrics() {
  static ServerMetrics* metrics = new ServerMetrics{
      DefaultRegistry().AddCounter(
          "gridcast_grpc_server_handled_total",
          "gRPC calls completed, by method, model and status code.",
          {"service", "method", "model", "code"}),
      DefaultRegistry().AddHistogram(
          "gridcast_grpc_server_handling_seconds",
          "Time from a call's arrival to its status, by method, model and "
          "status code.",
          {"service", "method", "model", "code"}, LatencyBucketsSeconds()),
  };
  return *metrics;
}

class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(std::string service, std::string method,
                     const ModelLabelExtractor* extractor)
      : service_(std::move(service)),
        method_(std::move(method)),
        extractor_(extractor),
        started_(std::chrono::steady_clock::now()) {}

  // A call that ends without sending a status (the client went away)
  // still counts, as CANCELLED.
  ~MetricsInterceptor() override {
    if (!recorded_) Record(grpc::StatusCode::CANCELLED);
  }

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (extractor_ != nullptr && !model_read_ &&
        methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_MESSAGE)) {
      const void* request = methods->GetRecvMessage();
      if (request != nullptr) {
        model_ = (*extractor_)(request);
        model_read_ = true;
      }
    }
    if (!recorded_ && methods->QueryInterceptionHookPoint(
                          InterceptionHookPoints::PRE_SEND_STATUS)) {
      Record(methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  void Record(grpc::StatusCode code) {
    recorded_ = true;
    const double seconds = std::chrono::duration<double>(
                               std::chrono::steady_clock::now() - started_)
                               .count();
    const LabelValues labels = {service_, method_, model_, CodeName(code)};
    Metrics().handled.WithLabels(labels).Increment();
    Metrics().latency.WithLabels(labels).Observe(seconds);
  }

  const std::string service_;
  const std::string method_;
  const ModelLabelExtractor* const extractor_;
  const std::chrono::steady_clock::time_point started_;
  std::string model_;
  bool model_read_ = false;
  bool recorded_ = false;
};

class MetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit MetricsInterceptorFactory(ModelLabelExtractors extractors)
      : extractors_(std::move(extractors)) {
    Metrics();  // The families show on /metrics before the first call.
  }

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    const std::string full_name = info->method() ? info->method() : "";
    const auto extractor = extractors_.find(full_name);
    auto [service, method] = SplitMethodName(full_name);
    return new MetricsInterceptor(
        std::move(service), std::move(method),
        extractor == extractors_.end() ? nullptr : &extractor->second);
  }

 private:
  const ModelLabelExtractors extractors_;
};

}  // namespace

std::pair<std::string, std::string> SplitMethodName(const std::string& full) {
  const size_t slash = full.rfind('/');
  if (full.size() < 3 || full[0] != '/' || slash == 0 ||
      slash == std::string::npos) {
    return {"", full};
  }
  return {full.substr(1, slash - 1), full.substr(slash + 1)};
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeServerMetricsInterceptorFactory(ModelLabelExtractors extractors) {
  return std::make_unique<MetricsInterceptorFactory>(std::move(extractors));
}

}  // namespace gridcast::metrics
