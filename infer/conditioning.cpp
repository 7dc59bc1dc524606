#include "infer/conditioning.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "core/grad_mode.h"
#include "core/random.h"
#include "data/loader.h"
#include "data/set_sampler.h"
#include "infer/templates.h"
#include "infer/zeroshot.h"

namespace hc {

namespace {

constexpr uint64_t kProbe = 0xD1A6ull, kRandomSets = 0xD1A7ull;

double rms(const std::vector<double>& x) {
  double s = 0;
  for (double v : x) s += v * v;
  return x.empty() ? 0 : std::sqrt(s / static_cast<double>(x.size()));
}

// rms of a - b over P values.
double rms_distance(const double* a, const double* b, size_t P) {
  double s = 0;
  for (size_t p = 0; p < P; ++p) s += (a[p] - b[p]) * (a[p] - b[p]);
  return P ? std::sqrt(s / static_cast<double>(P)) : 0;
}

// The mean over S rows of x [S, P].
std::vector<double> row_mean(const std::vector<double>& x, size_t S, size_t P) {
  std::vector<double> mu(P, 0.0);
  for (size_t s = 0; s < S; ++s)
    for (size_t p = 0; p < P; ++p) mu[p] += x[s * P + p] / static_cast<double>(S);
  return mu;
}

// rms over S rows of the distance of x [S, P] from mu [P].
double rms_from(const std::vector<double>& x, const std::vector<double>& mu, size_t S) {
  const size_t P = mu.size();
  double s = 0;
  for (size_t r = 0; r < S; ++r) {
    double d = rms_distance(&x[r * P], mu.data(), P);
    s += d * d;
  }
  return S ? std::sqrt(s / static_cast<double>(S)) : 0;
}

// x / of, or NaN (null in JSON) when of is 0.
double relative(double x, double of) { return of > 0 ? x / of : std::numeric_limits<double>::quiet_NaN(); }

StageSpread spread_of(const std::string& stage, const Tensor& t) {
  StageSpread st;
  st.stage = stage;
  const std::vector<double> x = t.to_vector();
  const size_t S = static_cast<size_t>(t.size(0)), D = static_cast<size_t>(t.size(t.dim() - 1));
  const size_t m = t.dim() == 3 ? static_cast<size_t>(t.size(1)) : 1;
  st.rms = rms(x);
  std::vector<double> set_mean(S * D, 0.0);  // [S, D]
  for (size_t s = 0; s < S; ++s)
    for (size_t j = 0; j < m; ++j)
      for (size_t d = 0; d < D; ++d) set_mean[s * D + d] += x[(s * m + j) * D + d] / static_cast<double>(m);
  double within = 0;
  for (size_t s = 0; s < S; ++s)
    for (size_t j = 0; j < m; ++j)
      for (size_t d = 0; d < D; ++d) {
        double v = x[(s * m + j) * D + d] - set_mean[s * D + d];
        within += v * v;
      }
  st.within = m > 1 ? std::sqrt(within / static_cast<double>(S * m * D)) : 0;
  std::vector<double> common = row_mean(set_mean, S, D);
  st.across = rms_from(set_mean, common, S);
  st.common = rms(common);
  return st;
}

nlohmann::json trace_json(const std::vector<StageSpread>& trace) {
  nlohmann::json out = nlohmann::json::array();
  for (const StageSpread& s : trace)
    out.push_back({{"stage", s.stage}, {"rms", s.rms}, {"within", s.within}, {"across", s.across}, {"common", s.common}});
  return out;
}

}  // namespace

std::vector<StageSpread> trace_spread(const HyperTrace& trace) {
  std::vector<StageSpread> out;
  for (const auto& [stage, t] : trace) out.push_back(spread_of(stage, t));
  return out;
}

ConditioningProbe::ConditioningProbe(const Dataset& data, const std::vector<std::string>& templates,
                                     const SampleGroups* groups, int64_t sets, int64_t set_size, uint64_t seed,
                                     const Tokenizer& tok, int64_t context)
    : set_size_(set_size), seed_(seed) {
  HC_CHECK(sets > 0 && set_size > 0, "conditioning probe: need sets and a set size, got ", sets, " x ", set_size);
  const int64_t n = static_cast<int64_t>(data.size());
  std::vector<size_t> chosen;
  if (groups && !groups->empty()) {
    // The first sets the group sampler deals (one set per "batch"): groups in proportion to their size.
    GroupSetSampler sampler(groups->of_sample, static_cast<int64_t>(groups->names.size()), set_size, set_size,
                            mix_seed(seed, kProbe));
    GroupSetSampler::Plan plan = sampler.plan(0);
    for (size_t s = 0; s < plan.set_group.size() && static_cast<int64_t>(chosen.size()) < sets * set_size; ++s)
      if (plan.set_group[s] >= 0)
        chosen.insert(chosen.end(), plan.order.begin() + s * set_size, plan.order.begin() + (s + 1) * set_size);
    describe_ = cat(chosen.size() / set_size, " sets of ", set_size, " training captions, one group each (",
                    groups->source, ")");
  } else {
    std::vector<size_t> order(static_cast<size_t>(n));
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    Generator g(mix_seed(seed, kProbe));
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[g.next_u64() % i]);
    int64_t take = std::min(sets, n / set_size) * set_size;
    chosen.assign(order.begin(), order.begin() + take);
    describe_ = cat(take / set_size, " sets of ", set_size, " random training captions");
  }
  sets_ = static_cast<int64_t>(chosen.size()) / set_size;
  HC_CHECK(sets_ > 0, "conditioning probe: ", data.describe(), " has fewer than ", set_size, " samples for one set");
  for (size_t idx : chosen) {
    if (!data.labelled()) {
      captions_.push_back(data.caption(idx));
      continue;
    }
    // Labelled data: the class name through a template, as the loader captions it.
    HC_CHECK(!templates.empty(), "conditioning probe: labelled data needs templates");
    Sample s = data.get(idx);
    Generator g(mix_seed(seed, kProbe, idx));
    captions_.push_back(fill_template(templates[g.next_u64() % templates.size()], data.class_names().at(s.label)));
  }
  tokenize_batch(tok, captions_, context, tokens_, eot_);
}

ConditioningReport ConditioningProbe::measure(const HyperClip& model,
                                              const std::vector<std::pair<std::string, Tensor>>& tasks,
                                              int64_t fresh_seed) const {
  HC_CHECK(model.hyper, "the conditioning diagnostic needs a hypernetwork (hyper or token mode)");
  NoGradGuard ng;
  const ModelConfig& cfg = model.config();
  const int64_t M = sets_, m = set_size_, E = cfg.embed;
  const size_t P = static_cast<size_t>(model.generated_size());
  Device device = model.logit_scale.device();
  ConditioningReport r;
  r.sets = M;
  r.set_size = m;

  // The training sets' generated parameters G [M, P], and the trace of what the hypernetwork saw.
  Tensor sets = reshape(model.encode_text(tokens_.to(device), eot_.to(device)), {M, m, E});  // [M, m, E]
  HyperTrace trace;
  std::vector<double> G, R;
  bool token = cfg.mode == Mode::Token;
  if (token) {  // no text: every set gets the learned tokens' parameters
    std::vector<double> g = model.hyper->forward(reshape(model.hyper->tokens, {1, -1, E}), &trace).to_vector();
    for (int64_t s = 0; s < M; ++s) G.insert(G.end(), g.begin(), g.end());
    R = G;
  } else {
    G = model.hyper->forward(sets, &trace).to_vector();
    // M sets of m random unit vectors: how far any input at all moves the parameters.
    Generator g(mix_seed(seed_, kRandomSets));
    std::vector<double> u(static_cast<size_t>(M * m * E));
    for (double& v : u) v = g.normal();
    Tensor rand = l2_normalize(Tensor::from_vector(u, {M, m, E}, sets.dtype(), device));
    R = model.hyper->forward(rand).to_vector();
  }
  r.trace = trace_spread(trace);
  const std::vector<double> mu = row_mean(G, M, P);
  r.gen_rms = rms(G);
  r.train_spread = rms_from(G, mu, M);
  r.random_spread = rms_from(R, row_mean(R, M, P), M);
  r.random_from_train = rms_from(R, mu, M);

  // The evaluation tasks: distance from the training mean, and between each other.
  std::vector<std::vector<double>> task_params;
  std::vector<std::string> names;
  for (const auto& [name, gen] : tasks) {
    if (!gen.defined()) continue;
    task_params.push_back(gen.to_vector());
    names.push_back(name);
    HC_CHECK(task_params.back().size() == P, "conditioning: task '", name, "' has ", task_params.back().size(),
             " generated values, expected ", P);
    r.task_from_train.emplace_back(name, rms_distance(task_params.back().data(), mu.data(), P));
  }
  double sum = 0;
  for (size_t a = 0; a < task_params.size(); ++a)
    for (size_t b = a + 1; b < task_params.size(); ++b) {
      double d = rms_distance(task_params[a].data(), task_params[b].data(), P);
      r.pair_names.emplace_back(names[a], names[b]);
      r.pairwise.push_back(d);
      sum += d;
      r.task_pairwise_max = std::max(r.task_pairwise_max, d);
      ++r.task_pairs;
    }
  r.task_pairwise_mean = r.task_pairs ? sum / static_cast<double>(r.task_pairs) : 0;

  if (fresh_seed >= 0) {  // the same inputs through a freshly initialised hypernetwork
    HyperClip fresh(cfg);
    fresh.init_parameters(static_cast<uint64_t>(fresh_seed));
    fresh.to(device);
    HyperTrace ft;
    fresh.hyper->forward(token ? reshape(fresh.hyper->tokens, {1, -1, E}) : sets, &ft);
    r.trace_fresh = trace_spread(ft);
  }
  return r;
}

nlohmann::json ConditioningReport::to_json() const {
  nlohmann::json tasks = nlohmann::json::object();
  for (const auto& [name, d] : task_from_train) tasks[name] = {{"from_train", d}, {"from_train_rel", relative(d, gen_rms)}};
  nlohmann::json j = {{"sets", sets}, {"set_size", set_size}, {"gen_rms", gen_rms},
                      {"train_spread", train_spread}, {"train_spread_rel", relative(train_spread, gen_rms)},
                      {"random_spread", random_spread}, {"random_spread_rel", relative(random_spread, gen_rms)},
                      {"random_from_train", random_from_train},
                      {"random_from_train_rel", relative(random_from_train, gen_rms)}, {"tasks", tasks},
                      {"task_pairs", task_pairs}, {"task_pairwise_mean", task_pairwise_mean},
                      {"task_pairwise_mean_rel", relative(task_pairwise_mean, gen_rms)},
                      {"task_pairwise_max", task_pairwise_max},
                      {"task_pairwise_max_rel", relative(task_pairwise_max, gen_rms)}, {"trace", trace_json(trace)}};
  nlohmann::json pairs = nlohmann::json::array();
  for (size_t i = 0; i < pairwise.size(); ++i)
    pairs.push_back({{"a", pair_names[i].first}, {"b", pair_names[i].second}, {"distance", pairwise[i]},
                     {"rel", relative(pairwise[i], gen_rms)}});
  j["pairs"] = pairs;
  if (!trace_fresh.empty()) j["trace_fresh"] = trace_json(trace_fresh);
  return j;
}

std::string ConditioningReport::summary() const {
  double lo = 0, hi = 0;
  for (size_t i = 0; i < task_from_train.size(); ++i) {
    lo = i ? std::min(lo, task_from_train[i].second) : task_from_train[i].second;
    hi = std::max(hi, task_from_train[i].second);
  }
  // The captions' own spread within a set, against their rms: near 0, the text tower itself gives
  // every caption the same embedding and no hypernetwork could tell the sets apart.
  double in_within = trace.empty() ? 0 : trace[0].within, in_rms = trace.empty() ? 0 : trace[0].rms;
  char buf[640];
  std::snprintf(buf, sizeof buf,
                "generated rms %.3g; spread over %lld training sets %.2e (%.2e of rms); tasks from the training "
                "mean %.2e..%.2e (%.2e..%.2e); between tasks %.2e mean (%.2e); random unit sets %.2e from it (%.2e); "
                "input spread within sets %.2e at rms %.2e",
                gen_rms, (long long)sets, train_spread, relative(train_spread, gen_rms), lo, hi,
                relative(lo, gen_rms), relative(hi, gen_rms), task_pairwise_mean,
                relative(task_pairwise_mean, gen_rms), random_from_train, relative(random_from_train, gen_rms),
                in_within, in_rms);
  return buf;
}

std::string ConditioningReport::trace_table() const {
  std::string out = "stage            rms        within     across     common";
  if (!trace_fresh.empty()) out += "   | fresh: rms  within     across";
  out += "\n";
  for (size_t i = 0; i < trace.size(); ++i) {
    char buf[256];
    const StageSpread& s = trace[i];
    std::snprintf(buf, sizeof buf, "%-14s %10.3g %10.3g %10.3g %10.3g", s.stage.c_str(), s.rms, s.within, s.across,
                  s.common);
    out += buf;
    if (i < trace_fresh.size()) {
      const StageSpread& f = trace_fresh[i];
      std::snprintf(buf, sizeof buf, "   | %10.3g %10.3g %10.3g", f.rms, f.within, f.across);
      out += buf;
    }
    out += "\n";
  }
  return out;
}

}  // namespace hc
