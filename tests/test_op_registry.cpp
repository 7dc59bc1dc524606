// Runs every registered op case (tests/op_registry.h) in each mode.
#include <doctest/doctest.h>

#include <cstdio>

#include "tests/op_registry.h"

using namespace hc;
using namespace hc::test;

TEST_CASE("gradient check: every registered op case, float64, central differences") {
  std::vector<OpCase> cases = all_op_cases();
  REQUIRE(cases.size() > 0);
  int checked = 0;
  double worst = 0;
  for (const OpCase& c : cases) {
    CAPTURE(c.name);
    std::vector<GradCheckResult> results = gradient_check(c);
    CHECK_MESSAGE(!results.empty(), "case has no input that requires grad");
    for (const GradCheckResult& r : results) {
      CAPTURE(r.input);
      std::printf("gradcheck %-44s input %d  rel_err %.2e  (tol %.0e, |grad| %.2e)\n",
                  c.name.c_str(), r.input, r.rel_err, c.rtol, r.numeric_norm);
      CHECK(r.numeric_norm > 0);  // an all-zero gradient would make the check vacuous
      CHECK(r.rel_err <= c.rtol);
      worst = std::max(worst, r.rel_err);
      ++checked;
    }
  }
  std::printf("gradcheck: %zu cases, %d input gradients, worst rel_err %.2e\n", cases.size(),
              checked, worst);
}
