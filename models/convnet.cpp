#include "models/convnet.h"

#include <cmath>

namespace hc {

int64_t round8(double v) {
  int64_t r = std::max<int64_t>(8, static_cast<int64_t>(std::floor((v + 4) / 8)) * 8);
  if (r < 0.9 * v) r += 8;
  return r;
}

ConvBnAct::ConvBnAct(int64_t in, int64_t out, int kernel, int stride, int groups, bool act_, bool folded)
    : act(act_) {
  conv = register_module("conv", std::make_shared<Conv2d>(in, out, kernel, stride, kernel / 2, groups, folded));
  if (!folded) bn = register_module("bn", std::make_shared<BatchNorm2d>(out));
}

Tensor ConvBnAct::forward(const Tensor& x, const Generated* gen) const {
  Tensor y = bn ? bn->forward(conv->forward(x), gen) : conv->forward(x);
  return act ? silu(y) : y;
}

SqueezeExcite::SqueezeExcite(int64_t channels, int64_t reduced) {
  reduce = register_module("reduce", std::make_shared<Conv2d>(channels, reduced, 1, 1, 0, 1, true));
  expand = register_module("expand", std::make_shared<Conv2d>(reduced, channels, 1, 1, 0, 1, true));
}

Tensor SqueezeExcite::forward(const Tensor& x) const {
  // On pooled [N, C] features a 1×1 conv is a linear layer with the weight viewed as [out, in].
  auto as_linear = [](const Conv2d& c, const Tensor& v) {
    return linear(v, reshape(c.weight, {c.weight.size(0), c.weight.size(1)}), c.bias);
  };
  Tensor s = global_avg_pool(x);                                  // [N, C]
  s = sigmoid(as_linear(*expand, silu(as_linear(*reduce, s))));   // [N, C]
  return mul(x, reshape(s, {s.size(0), s.size(1), 1, 1}));
}

MBConv::MBConv(int64_t in, int64_t out, int kernel, int stride, int64_t expand_ratio, bool folded)
    : residual(stride == 1 && in == out) {
  int64_t mid = in * expand_ratio;
  if (expand_ratio != 1) expand = register_module("expand", std::make_shared<ConvBnAct>(in, mid, 1, 1, 1, true, folded));
  dw = register_module("dw", std::make_shared<ConvBnAct>(mid, mid, kernel, stride, static_cast<int>(mid), true, folded));
  se = register_module("se", std::make_shared<SqueezeExcite>(mid, std::max<int64_t>(1, in / 4)));
  project = register_module("project", std::make_shared<ConvBnAct>(mid, out, 1, 1, 1, false, folded));
}

Tensor MBConv::forward(const Tensor& x, const Generated* gen) const {
  Tensor h = expand ? expand->forward(x, gen) : x;
  h = project->forward(se->forward(dw->forward(h, gen)), gen);
  return residual ? add(h, x) : h;
}

const std::array<ConvNetStage, 7> kConvNetStages = {{{3, 1, 1, 16, 1},  {3, 2, 6, 24, 2},  {5, 2, 6, 40, 2},
                                                    {3, 2, 6, 80, 3},  {5, 1, 6, 112, 3}, {5, 2, 6, 192, 4},
                                                    {3, 1, 6, 320, 1}}};

ConvNetTower::ConvNetTower(const ConvNetConfig& cfg, int64_t embed, bool folded) {
  int64_t c = round8(32 * cfg.width);
  stem = register_module("stem", std::make_shared<ConvBnAct>(3, c, 3, 2, 1, true, folded));
  blocks = register_module("blocks", std::make_shared<ModuleList>());
  for (const ConvNetStage& s : kConvNetStages) {
    auto stage = blocks->append(std::make_shared<ModuleList>());
    int64_t out = round8(s.channels * cfg.width);
    int64_t repeats = static_cast<int64_t>(std::ceil(s.repeats * cfg.depth));
    for (int64_t j = 0; j < repeats; ++j) {
      stage->append(std::make_shared<MBConv>(c, out, s.kernel, j == 0 ? s.stride : 1, s.expand, folded));
      c = out;
    }
  }
  int64_t c_head = round8(1280 * cfg.width);
  head = register_module("head", std::make_shared<ConvBnAct>(c, c_head, 1, 1, 1, true, folded));
  proj = register_module("proj", std::make_shared<Linear>(c_head, embed, false));
}

Tensor ConvNetTower::forward(const Tensor& images, const Generated* gen) const {
  Tensor x = stem->forward(images, gen);
  for (size_t i = 0; i < blocks->size(); ++i) {
    auto stage = blocks->at<ModuleList>(i);
    for (size_t j = 0; j < stage->size(); ++j) x = stage->at<MBConv>(j)->forward(x, gen);
  }
  x = head->forward(x, gen);
  return proj->forward(global_avg_pool(x));
}

std::vector<ConvBnAct*> ConvNetTower::conv_bn_layers() {
  std::vector<ConvBnAct*> out{stem.get()};
  for (size_t i = 0; i < blocks->size(); ++i) {
    auto stage = blocks->at<ModuleList>(i);
    for (size_t j = 0; j < stage->size(); ++j) {
      auto b = stage->at<MBConv>(j);
      if (b->expand) out.push_back(b->expand.get());
      out.push_back(b->dw.get());
      out.push_back(b->project.get());
    }
  }
  out.push_back(head.get());
  return out;
}

std::vector<BatchNorm2d*> ConvNetTower::batch_norms() {
  std::vector<BatchNorm2d*> out;
  for (ConvBnAct* l : conv_bn_layers())
    if (l->bn) out.push_back(l->bn.get());  // a folded tower has none
  return out;
}

std::vector<GeneratedNorm*> ConvNetTower::generated_norms() {
  std::vector<GeneratedNorm*> out;
  for (BatchNorm2d* bn : batch_norms()) out.push_back(&bn->generated);
  return out;
}

}  // namespace hc
