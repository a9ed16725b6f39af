// gridcast.bench.v1.EchoService: the benchmark's ceiling, served beside
// the forecaster (same server, same threads, same interceptors) when
// --bench_echo is given. It does what Forecast does minus the model:
// parse the request, build a response of forecast size, send it.
#ifndef GRIDCAST_INFERENCE_ECHO_SERVICE_H_
#define GRIDCAST_INFERENCE_ECHO_SERVICE_H_

#include "gridcast/bench/v1/echo.grpc.pb.h"

namespace gridcast {

class EchoServiceImpl final : public bench::v1::EchoService::CallbackService {
 public:
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const bench::v1::EchoRequest* request,
                                 bench::v1::EchoResponse* response) override;
};

// Fills `response` with the last `reply_points` points of `request`
// (fewer if the request has fewer).
void FillEcho(const bench::v1::EchoRequest& request,
              bench::v1::EchoResponse* response);

}  // namespace gridcast

#endif  // GRIDCAST_INFERENCE_ECHO_SERVICE_H_
