// Request counts and latencies of a gRPC server, recorded by a server
// interceptor so that no service code has to remember to do it:
//
//   gridcast_grpc_server_handled_total{service,method,model,code}
//   gridcast_grpc_server_handling_seconds{service,method,model,code}
//
// `model` is read from the request by an extractor registered for the
// method (e.g. ForecastRequest.model), "" for methods without one. Time
// runs from the moment the server takes the call up (when it makes the
// call's interceptors) to the sending of its status, so it includes
// reading the request and waiting for a handler thread.
#ifndef GRIDCAST_COMMON_METRICS_GRPC_METRICS_H_
#define GRIDCAST_COMMON_METRICS_GRPC_METRICS_H_

#include <functional>
#include <map>
#include <memory>
#include <string>

#include <grpcpp/support/server_interceptor.h>

namespace gridcast::metrics {

// Reads the model label from a request message of a known type.
using ModelLabelExtractor = std::function<std::string(const void* request)>;
// Full method name ("/gridcast.v1.ForecasterService/Forecast") -> extractor.
using ModelLabelExtractors = std::map<std::string, ModelLabelExtractor>;

// The extractor for requests of type `Request` with a `model` string field.
template <typename Request>
ModelLabelExtractor ModelFieldOf() {
  return [](const void* request) {
    return static_cast<const Request*>(request)->model();
  };
}

// The interceptor factory for grpc::ServerBuilder::experimental()
// .SetInterceptorCreators. Records into DefaultRegistry().
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MakeServerMetricsInterceptorFactory(ModelLabelExtractors extractors);

// "/a.b.Service/Method" -> {"a.b.Service", "Method"}; a name without that
// shape is the method with an empty service.
std::pair<std::string, std::string> SplitMethodName(const std::string& full);

}  // namespace gridcast::metrics

#endif  // GRIDCAST_COMMON_METRICS_GRPC_METRICS_H_
