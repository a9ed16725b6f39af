#include "inference/echo_service.h"

#include <algorithm>

namespace gridcast {

void FillEcho(const bench::v1::EchoRequest& request,
              bench::v1::EchoResponse* response) {
  const int available =
      std::min(request.timestamps_size(), request.values_size());
  const int points = std::clamp(request.reply_points(), 0, available);
  response->set_model(request.model());
  response->mutable_timestamps()->Reserve(points);
  response->mutable_values()->Reserve(points);
  for (int i = available - points; i < available; ++i) {
    response->add_timestamps(request.timestamps(i));
    response->add_values(request.values(i));
  }
}

grpc::ServerUnaryReactor* EchoServiceImpl::Echo(
    grpc::CallbackServerContext* context, const bench::v1::EchoRequest* request,
    bench::v1::EchoResponse* response) {
  FillEcho(*request, response);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace gridcast
