#include "trainer/fused_adam.h"

#include <cmath>
#include <memory>
#include <string>

#include <ATen/Parallel.h>
#include <c10/util/string_utils.h>

namespace gridcast {
namespace {

// Elements per parallel chunk: below this, waking a second thread costs
// more than it saves.
constexpr int64_t kGrain = 1 << 15;

// One Adam update of n elements, in LibTorch's order of operations:
//   m = m * beta1 + g * (1 - beta1)
//   v = v * beta2 + g * g * (1 - beta2)
//   p = p - step_size * m / (sqrt(v) / sqrt(bias_correction2) + eps)
void UpdateElements(float* __restrict param, const float* __restrict grad,
                    float* __restrict exp_avg, float* __restrict exp_avg_sq,
                    int64_t n, float beta1, float beta2, float step_size,
                    float bias_correction2_sqrt, float eps) {
  const float keep1 = 1 - beta1;
  const float keep2 = 1 - beta2;
  for (int64_t i = 0; i < n; ++i) {
    const float g = grad[i];
    const float m = exp_avg[i] * beta1 + g * keep1;
    const float v = exp_avg_sq[i] * beta2 + g * g * keep2;
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    param[i] -= step_size * m / (std::sqrt(v) / bias_correction2_sqrt + eps);
  }
}

bool IsPlainFloat(const torch::Tensor& tensor) {
  return tensor.defined() && tensor.scalar_type() == torch::kFloat &&
         tensor.is_contiguous() && tensor.device().is_cpu();
}

}  // namespace

bool FusedAdam::Fusable() const {
  for (const auto& group : param_groups_) {
    const auto& options =
        static_cast<const torch::optim::AdamOptions&>(group.options());
    if (options.amsgrad() || options.weight_decay() != 0) return false;
    for (const auto& parameter : group.params()) {
      if (!IsPlainFloat(parameter)) return false;
      if (parameter.grad().defined() && !IsPlainFloat(parameter.grad())) {
        return false;
      }
    }
  }
  return true;
}

torch::Tensor FusedAdam::step(LossClosure closure) {
  if (!Fusable()) return torch::optim::Adam::step(std::move(closure));

  torch::NoGradGuard no_grad;
  torch::Tensor loss;
  if (closure != nullptr) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }

  for (auto& group : param_groups_) {
    const auto& options =
        static_cast<const torch::optim::AdamOptions&>(group.options());
    const auto [beta1, beta2] = options.betas();
    for (auto& parameter : group.params()) {
      if (!parameter.grad().defined()) continue;

      // The state lives where LibTorch's Adam keeps it, under the same
      // key, so that save() and load() see an ordinary Adam.
      const std::string key =
          c10::guts::to_string(parameter.unsafeGetTensorImpl());
      auto found = state_.find(key);
      if (found == state_.end()) {
        auto fresh = std::make_unique<torch::optim::AdamParamState>();
        fresh->step(0);
        fresh->exp_avg(torch::zeros_like(parameter));
        fresh->exp_avg_sq(torch::zeros_like(parameter));
        found = state_.emplace(key, std::move(fresh)).first;
      }
      auto& state = static_cast<torch::optim::AdamParamState&>(*found->second);
      state.step(state.step() + 1);

      const double bias_correction1 = 1 - std::pow(beta1, state.step());
      const double bias_correction2 = 1 - std::pow(beta2, state.step());
      const float step_size =
          static_cast<float>(options.lr() / bias_correction1);
      const float bias_correction2_sqrt =
          static_cast<float>(std::sqrt(bias_correction2));

      float* param = parameter.data_ptr<float>();
      const float* grad = parameter.grad().data_ptr<float>();
      float* exp_avg = state.exp_avg().data_ptr<float>();
      float* exp_avg_sq = state.exp_avg_sq().data_ptr<float>();
      at::parallel_for(
          0, parameter.numel(), kGrain, [&](int64_t begin, int64_t end) {
            UpdateElements(param + begin, grad + begin, exp_avg + begin,
                           exp_avg_sq + begin, end - begin,
                           static_cast<float>(beta1), static_cast<float>(beta2),
                           step_size, bias_correction2_sqrt,
                           static_cast<float>(options.eps()));
          });
    }
  }
  return loss;
}

}  // namespace gridcast
