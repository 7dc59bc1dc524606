// conv2d on the CPU.
//
// General path, per image and group: im2col, then one GEMM through Eigen:
//   col [Cg_in*KH*KW, OH*OW]   (zero where the window hangs over the padding)
//   y   [Cg_out, OH*OW] = W_g [Cg_out, Cg_in*KH*KW] @ col
// A 1x1, stride-1, unpadded convolution needs no im2col: the input plane already is col.
// Depthwise convolutions (groups == Cin, Cout = M·Cin: M filters of KHxKW per input channel, M = 1
// the usual depthwise, M = 2 MCi's downsampling and head) use a direct loop instead: one filter per
// output channel makes the GEMM degenerate. Output channel o reads input channel o / M.
//
// Images are spread over OpenMP threads when there are enough of them; otherwise each GEMM is
// parallelised by Eigen. Weight gradients are summed per thread and then added in thread order, so
// results do not depend on scheduling.
// GCC 12 warns inside Eigen's AVX-512 intrinsics with -march=native (a known false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>
#include <omp.h>

#include <algorithm>
#include <type_traits>
#include <vector>

#include "ops/cpu/backend_cpu.h"
#include "ops/cpu/gemm_bf16_cpu.h"
#include "ops/kernel_shapes.h"
#include "ops/cpu/parallel_cpu.h"
#include "ops/cpu/reference_cpu.h"

namespace hc {

template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

namespace {

using Geometry = ConvGeometry;  // ops/kernel_shapes.h
constexpr auto geometry = conv_geometry;

// x_g [Cg_in, H, W] -> col [K, OH*OW]
template <class T>
void im2col(const T* x, const Geometry& g, T* col) {
  int64_t ohw = g.OH * g.OW;
  for (int64_t c = 0; c < g.Cg_in; ++c)
    for (int64_t kh = 0; kh < g.KH; ++kh)
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        T* row = col + ((c * g.KH + kh) * g.KW + kw) * ohw;
        for (int64_t oh = 0; oh < g.OH; ++oh) {
          int64_t ih = oh * g.sh - g.ph + kh;
          T* out = row + oh * g.OW;
          if (ih < 0 || ih >= g.H) {
            for (int64_t ow = 0; ow < g.OW; ++ow) out[ow] = T(0);
            continue;
          }
          const T* in = x + (c * g.H + ih) * g.W;
          for (int64_t ow = 0; ow < g.OW; ++ow) {
            int64_t iw = ow * g.sw - g.pw + kw;
            out[ow] = (iw >= 0 && iw < g.W) ? in[iw] : T(0);
          }
        }
      }
}

// col [K, OH*OW] added back into dx_g [Cg_in, H, W] (the adjoint of im2col)
template <class T>
void col2im_add(const T* col, const Geometry& g, T* dx) {
  int64_t ohw = g.OH * g.OW;
  for (int64_t c = 0; c < g.Cg_in; ++c)
    for (int64_t kh = 0; kh < g.KH; ++kh)
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        const T* row = col + ((c * g.KH + kh) * g.KW + kw) * ohw;
        for (int64_t oh = 0; oh < g.OH; ++oh) {
          int64_t ih = oh * g.sh - g.ph + kh;
          if (ih < 0 || ih >= g.H) continue;
          T* out = dx + (c * g.H + ih) * g.W;
          for (int64_t ow = 0; ow < g.OW; ++ow) {
            int64_t iw = ow * g.sw - g.pw + kw;
            if (iw >= 0 && iw < g.W) out[iw] += row[oh * g.OW + ow];
          }
        }
      }
}

// Threads for a loop over images: all of them when there are enough images, else one (and Eigen
// parallelises inside).
int image_threads(int64_t N) {
  int t = omp_get_max_threads();
  return N >= t ? t : 1;
}

// ---- depthwise: x [N, C, H, W], w [C·M, 1, KH, KW], y [N, C·M, OH, OW] --------------------------
// The reference loops visit one output (or one dy element) at a time and test every tap against
// the padding. The kernels further down loop over taps outside and over a row of outputs inside,
// with the valid output range of each tap computed once, so the inner loop is a plain
// (vectorisable) multiply-add along the row.

template <class T>
void depthwise_forward_reference(const T* x, const T* w, const T* bias, const Geometry& g, T* y) {
  const int64_t M = g.mult();
#pragma omp parallel for schedule(static) if (g.N * g.Cout * g.OH * g.OW > kParallelGrain)
  for (int64_t no = 0; no < g.N * g.Cout; ++no) {
    int64_t n = no / g.Cout, o = no % g.Cout;
    const T* xp = x + (n * g.Cin + o / M) * g.H * g.W;
    const T* wp = w + o * g.KH * g.KW;
    T* yp = y + no * g.OH * g.OW;
    T b = bias ? bias[o] : T(0);
    for (int64_t oh = 0; oh < g.OH; ++oh)
      for (int64_t ow = 0; ow < g.OW; ++ow) yp[oh * g.OW + ow] = depthwise_output(xp, wp, g, oh, ow, b);
  }
}

template <class T>
void depthwise_backward_reference(const T* x, const T* w, const T* dy, const Geometry& g, T* dx, T* dw, T* db) {
  const int64_t M = g.mult();
  // dx: each (image, input channel) plane gathers its M output planes.
  if (dx) {
#pragma omp parallel for schedule(static) if (g.N * g.Cout * g.OH * g.OW > kParallelGrain)
    for (int64_t nc = 0; nc < g.N * g.Cin; ++nc) {
      int64_t n = nc / g.Cin, c = nc % g.Cin;
      T* dxp = dx + nc * g.H * g.W;
      for (int64_t i = 0; i < g.H * g.W; ++i) dxp[i] = T(0);
      for (int64_t o = c * M; o < (c + 1) * M; ++o) {
        const T* wp = w + o * g.KH * g.KW;
        const T* gp = dy + (n * g.Cout + o) * g.OH * g.OW;
        for (int64_t oh = 0; oh < g.OH; ++oh)
          for (int64_t ow = 0; ow < g.OW; ++ow) {
            T go = gp[oh * g.OW + ow];
            for (int64_t kh = 0; kh < g.KH; ++kh) {
              int64_t ih = oh * g.sh - g.ph + kh;
              if (ih < 0 || ih >= g.H) continue;
              for (int64_t kw = 0; kw < g.KW; ++kw) {
                int64_t iw = ow * g.sw - g.pw + kw;
                if (iw >= 0 && iw < g.W) dxp[ih * g.W + iw] += go * wp[kh * g.KW + kw];
              }
            }
          }
      }
    }
  }
  // dw, db: one output channel per iteration, summed over images in order.
  if (dw || db) {
#pragma omp parallel for schedule(static) if (g.N * g.Cout * g.OH * g.OW > kParallelGrain)
    for (int64_t o = 0; o < g.Cout; ++o) {
      std::vector<double> acc(g.KH * g.KW, 0.0);
      double bacc = 0;
      for (int64_t n = 0; n < g.N; ++n) {
        const T* xp = x + (n * g.Cin + o / M) * g.H * g.W;
        const T* gp = dy + (n * g.Cout + o) * g.OH * g.OW;
        for (int64_t oh = 0; oh < g.OH; ++oh)
          for (int64_t ow = 0; ow < g.OW; ++ow) {
            T go = gp[oh * g.OW + ow];
            bacc += go;
            if (!dw) continue;
            for (int64_t kh = 0; kh < g.KH; ++kh) {
              int64_t ih = oh * g.sh - g.ph + kh;
              if (ih < 0 || ih >= g.H) continue;
              for (int64_t kw = 0; kw < g.KW; ++kw) {
                int64_t iw = ow * g.sw - g.pw + kw;
                if (iw >= 0 && iw < g.W) acc[kh * g.KW + kw] += double(go) * xp[ih * g.W + iw];
              }
            }
          }
      }
      if (dw)
        for (int64_t k = 0; k < g.KH * g.KW; ++k) dw[o * g.KH * g.KW + k] = static_cast<T>(acc[k]);
      if (db) db[o] = static_cast<T>(bacc);
    }
  }
}

// For tap offset k (kh or kw) along one axis: the outputs o in [lo, hi) whose input
// o*stride - pad + k lies inside [0, size).
inline void valid_range(int64_t k, int64_t stride, int64_t pad, int64_t size, int64_t out, int64_t& lo,
                        int64_t& hi) {
  // o*stride >= pad - k  and  o*stride <= size - 1 + pad - k
  int64_t a = pad - k, b = size - 1 + pad - k;
  lo = a <= 0 ? 0 : (a + stride - 1) / stride;
  hi = b < 0 ? 0 : std::min(out, b / stride + 1);
  if (hi < lo) hi = lo;
}

// The valid output ranges of every tap row and column, computed once per call (integer divisions
// per row would cost more than the row's arithmetic on the small late-stage planes).
struct TapRanges {
  std::vector<int64_t> oh0, oh1, ow0, ow1;  // [KH], [KH], [KW], [KW]
  explicit TapRanges(const Geometry& g) : oh0(g.KH), oh1(g.KH), ow0(g.KW), ow1(g.KW) {
    for (int64_t k = 0; k < g.KH; ++k) valid_range(k, g.sh, g.ph, g.H, g.OH, oh0[k], oh1[k]);
    for (int64_t k = 0; k < g.KW; ++k) valid_range(k, g.sw, g.pw, g.W, g.OW, ow0[k], ow1[k]);
  }
};

// Same sums as depthwise_forward_reference, in the same order (bias, then the taps in (kh, kw)
// order). The results agree to a rounding per term, not always bit for bit: under -march=native
// with FMA the compiler may fuse the multiply-add in one loop and not in the other (seen on an
// AVX-512 machine for 5x5 kernels, float64 differences up to 8e-16).
template <class T>
void depthwise_forward(const T* x, const T* w, const T* bias, const Geometry& g, T* y) {
  const TapRanges r(g);
  const int64_t M = g.mult();
#pragma omp parallel for schedule(static) if (g.N * g.Cout * g.OH * g.OW > kParallelGrain)
  for (int64_t no = 0; no < g.N * g.Cout; ++no) {
    int64_t n = no / g.Cout, o = no % g.Cout;
    const T* xp = x + (n * g.Cin + o / M) * g.H * g.W;  // [H, W]
    const T* wp = w + o * g.KH * g.KW;                 // [KH, KW]
    T* yp = y + no * g.OH * g.OW;                      // [OH, OW]
    T b = bias ? bias[o] : T(0);
    for (int64_t i = 0; i < g.OH * g.OW; ++i) yp[i] = b;
    for (int64_t kh = 0; kh < g.KH; ++kh) {
      int64_t oh0 = r.oh0[kh], oh1 = r.oh1[kh];
      for (int64_t oh = oh0; oh < oh1; ++oh) {
        const T* xr = xp + (oh * g.sh - g.ph + kh) * g.W;
        T* yr = yp + oh * g.OW;
        for (int64_t kw = 0; kw < g.KW; ++kw) {
          int64_t ow0 = r.ow0[kw], ow1 = r.ow1[kw];
          T wk = wp[kh * g.KW + kw];
          const T* xk = xr - g.pw + kw;  // xk[ow * sw] is the tap's input for output ow
          if (g.sw == 1) {
#pragma omp simd
            for (int64_t ow = ow0; ow < ow1; ++ow) yr[ow] += xk[ow] * wk;
          } else {
            for (int64_t ow = ow0; ow < ow1; ++ow) yr[ow] += xk[ow * g.sw] * wk;
          }
        }
      }
    }
  }
}

// dx sums the same terms as the reference in another order (taps outside, outputs inside);
// dw sums each tap over rows in order, each row's products added in double by a vectorised
// reduction. Both orders are fixed by the shapes alone.
template <class T>
void depthwise_backward(const T* x, const T* w, const T* dy, const Geometry& g, T* dx, T* dw, T* db) {
  const TapRanges r(g);
  const int64_t M = g.mult();
  if (dx) {
#pragma omp parallel for schedule(static) if (g.N * g.Cout * g.OH * g.OW > kParallelGrain)
    for (int64_t nc = 0; nc < g.N * g.Cin; ++nc) {
      int64_t n = nc / g.Cin, c = nc % g.Cin;
      T* dxp = dx + nc * g.H * g.W;             // [H, W]
      for (int64_t i = 0; i < g.H * g.W; ++i) dxp[i] = T(0);
      for (int64_t o = c * M; o < (c + 1) * M; ++o) {
        const T* wp = w + o * g.KH * g.KW;                  // [KH, KW]
        const T* gp = dy + (n * g.Cout + o) * g.OH * g.OW;  // [OH, OW]
        for (int64_t kh = 0; kh < g.KH; ++kh) {
          int64_t oh0 = r.oh0[kh], oh1 = r.oh1[kh];
          for (int64_t oh = oh0; oh < oh1; ++oh) {
            T* dxr = dxp + (oh * g.sh - g.ph + kh) * g.W;
            const T* gr = gp + oh * g.OW;
            for (int64_t kw = 0; kw < g.KW; ++kw) {
              int64_t ow0 = r.ow0[kw], ow1 = r.ow1[kw];
              T wk = wp[kh * g.KW + kw];
              T* dxk = dxr - g.pw + kw;
              if (g.sw == 1) {
#pragma omp simd
                for (int64_t ow = ow0; ow < ow1; ++ow) dxk[ow] += gr[ow] * wk;
              } else {
                for (int64_t ow = ow0; ow < ow1; ++ow) dxk[ow * g.sw] += gr[ow] * wk;
              }
            }
          }
        }
      }
    }
  }
  if (dw || db) {
#pragma omp parallel for schedule(static) if (g.N * g.Cout * g.OH * g.OW > kParallelGrain)
    for (int64_t o = 0; o < g.Cout; ++o) {
      std::vector<double> acc(g.KH * g.KW, 0.0);
      double bacc = 0;
      for (int64_t n = 0; n < g.N; ++n) {
        const T* xp = x + (n * g.Cin + o / M) * g.H * g.W;  // [H, W]
        const T* gp = dy + (n * g.Cout + o) * g.OH * g.OW;  // [OH, OW]
        double s = 0;
#pragma omp simd reduction(+ : s)
        for (int64_t i = 0; i < g.OH * g.OW; ++i) s += gp[i];
        bacc += s;
        if (!dw) continue;
        for (int64_t kh = 0; kh < g.KH; ++kh) {
          int64_t oh0 = r.oh0[kh], oh1 = r.oh1[kh];
          for (int64_t kw = 0; kw < g.KW; ++kw) {
            int64_t ow0 = r.ow0[kw], ow1 = r.ow1[kw];
            double t = 0;
            for (int64_t oh = oh0; oh < oh1; ++oh) {
              const T* xk = xp + (oh * g.sh - g.ph + kh) * g.W - g.pw + kw;
              const T* gr = gp + oh * g.OW;
              if (g.sw == 1) {
#pragma omp simd reduction(+ : t)
                for (int64_t ow = ow0; ow < ow1; ++ow) t += double(gr[ow]) * xk[ow];
              } else {
                for (int64_t ow = ow0; ow < ow1; ++ow) t += double(gr[ow]) * xk[ow * g.sw];
              }
            }
            acc[kh * g.KW + kw] += t;
          }
        }
      }
      if (dw)
        for (int64_t k = 0; k < g.KH * g.KW; ++k) dw[o * g.KH * g.KW + k] = static_cast<T>(acc[k]);
      if (db) db[o] = static_cast<T>(bacc);
    }
  }
}

// ---- depthwise, channels last: the small planes -----------------------------------------------
// Planes of 16x16 and less leave a per-plane row loop a few elements long: under AVX-512 a row of
// 16 floats, cut to 13 by a 7x7 tap's border, runs entirely in the scalar remainder. Instead,
// per image: the input is transposed into a zero-padded channels-last buffer
//   xt [H + 2ph, W + 2pw, C],  the kernel into wt [KH, KW, C] (once per call),
// each output position is computed for all channels at once (the loop over c is the vector),
//   yt [OH, OW, C] = bias + Σ over the taps in (kh, kw) order of xt[oh*sh + kh, ow*sw + kw] * wt[kh, kw],
// and yt is transposed back to y [C, OH, OW]. The same sums in the same order as the reference
// (padded taps add exact zeros). The backward pass scatters dyt · wt into a padded dxt and
// gathers dyt · xt into per-thread dw partials in double (a 16x16 plane's 256 terms per image summed
// in float32 put a 1x1 depthwise weight's gradient 2e-4 off PyTorch's), added in thread order (fixed
// by the thread count).
// Measured on MCi-nano's depthwise shapes (batch 128, one thread, forward / backward ms, planar
// against channels last): 7x7 on 24 x 16x16, 11.6 / 37 against 8.6 / 12.8; 3x3 on 24 x 16x16,
// 2.7 / 9.2 against 2.3 / 4.1; 3x3 stride 2 on 48 x 16x16, 2.7 / 6.7 against 1.3 / 3.4. On
// 24 x 32x32 (stride 2) no gain, so the planar loop keeps the larger planes.
constexpr int64_t kChannelsLastPlane = 256;  // use it for planes of at most 16x16 pixels
inline bool channels_last_depthwise(const Geometry& g) {
  return g.H * g.W <= kChannelsLastPlane && g.Cg_out == 1 && g.Cin >= 16;
}

// x_n [C, H, W] -> xt [H + 2ph, W + 2pw, C], border zero.
template <class T>
void to_padded_channels_last(const T* x, const Geometry& g, T* xt) {
  int64_t Hp = g.H + 2 * g.ph, Wp = g.W + 2 * g.pw, C = g.Cin;
  std::fill(xt, xt + Hp * Wp * C, T(0));
  for (int64_t c = 0; c < C; ++c)
    for (int64_t h = 0; h < g.H; ++h)
      for (int64_t w = 0; w < g.W; ++w) xt[((h + g.ph) * Wp + w + g.pw) * C + c] = x[(c * g.H + h) * g.W + w];
}

template <class T>
void depthwise_forward_channels_last(const T* x, const T* w, const T* bias, const Geometry& g, T* y) {
  int64_t C = g.Cin, Hp = g.H + 2 * g.ph, Wp = g.W + 2 * g.pw, taps = g.KH * g.KW, ohw = g.OH * g.OW;
  std::vector<T> wt(taps * C);  // [KH*KW, C]
  for (int64_t c = 0; c < C; ++c)
    for (int64_t k = 0; k < taps; ++k) wt[k * C + c] = w[c * taps + k];
#pragma omp parallel if (g.N * C * ohw > kParallelGrain)
  {
    std::vector<T> xt(Hp * Wp * C), yt(ohw * C);
#pragma omp for schedule(static)
    for (int64_t n = 0; n < g.N; ++n) {
      to_padded_channels_last(x + n * C * g.H * g.W, g, xt.data());
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          T* yo = yt.data() + (oh * g.OW + ow) * C;  // [C]
          if (bias) std::copy(bias, bias + C, yo);
          else std::fill(yo, yo + C, T(0));
          for (int64_t kh = 0; kh < g.KH; ++kh)
            for (int64_t kw = 0; kw < g.KW; ++kw) {
              const T* xi = xt.data() + ((oh * g.sh + kh) * Wp + ow * g.sw + kw) * C;
              const T* wk = wt.data() + (kh * g.KW + kw) * C;
#pragma omp simd
              for (int64_t c = 0; c < C; ++c) yo[c] += xi[c] * wk[c];
            }
        }
      T* yn = y + n * C * ohw;  // [C, OH*OW]
      for (int64_t c = 0; c < C; ++c)
        for (int64_t i = 0; i < ohw; ++i) yn[c * ohw + i] = yt[i * C + c];
    }
  }
}

template <class T>
void depthwise_backward_channels_last(const T* x, const T* w, const T* dy, const Geometry& g, T* dx, T* dw, T* db) {
  int64_t C = g.Cin, Hp = g.H + 2 * g.ph, Wp = g.W + 2 * g.pw, taps = g.KH * g.KW, ohw = g.OH * g.OW;
  std::vector<T> wt(taps * C);  // [KH*KW, C]
  for (int64_t c = 0; c < C; ++c)
    for (int64_t k = 0; k < taps; ++k) wt[k * C + c] = w[c * taps + k];
  int threads = g.N * C * ohw > kParallelGrain ? omp_get_max_threads() : 1;
  // Per-thread partials of dw [KH*KW, C] and db [C], in double, added in thread order below.
  std::vector<std::vector<double>> dw_part(dw ? threads : 0, std::vector<double>(taps * C, 0.0));
  std::vector<std::vector<double>> db_part(db ? threads : 0, std::vector<double>(C, 0.0));
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    int t = omp_get_thread_num();
    std::vector<T> xt(dw ? Hp * Wp * C : 0), dyt(ohw * C), dxt(dx ? Hp * Wp * C : 0);
    double* dwp = dw ? dw_part[t].data() : nullptr;  // [KH*KW, C]
#pragma omp for schedule(static)
    for (int64_t n = 0; n < g.N; ++n) {
      const T* dyn = dy + n * C * ohw;  // [C, OH*OW] -> dyt [OH*OW, C]
      for (int64_t c = 0; c < C; ++c)
        for (int64_t i = 0; i < ohw; ++i) dyt[i * C + c] = dyn[c * ohw + i];
      if (db) {
        double* dbp = db_part[t].data();
        for (int64_t i = 0; i < ohw; ++i)
          for (int64_t c = 0; c < C; ++c) dbp[c] += dyt[i * C + c];
      }
      if (dw) to_padded_channels_last(x + n * C * g.H * g.W, g, xt.data());
      if (dx) std::fill(dxt.begin(), dxt.end(), T(0));
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          const T* go = dyt.data() + (oh * g.OW + ow) * C;
          for (int64_t kh = 0; kh < g.KH; ++kh)
            for (int64_t kw = 0; kw < g.KW; ++kw) {
              int64_t at = ((oh * g.sh + kh) * Wp + ow * g.sw + kw) * C, k = (kh * g.KW + kw) * C;
              if (dx) {
                T* dxi = dxt.data() + at;
                const T* wk = wt.data() + k;
#pragma omp simd
                for (int64_t c = 0; c < C; ++c) dxi[c] += go[c] * wk[c];
              }
              if (dw) {
                const T* xi = xt.data() + at;
                double* ak = dwp + k;
#pragma omp simd
                for (int64_t c = 0; c < C; ++c) ak[c] += double(go[c]) * double(xi[c]);
              }
            }
        }
      if (dx) {
        T* dxn = dx + n * C * g.H * g.W;  // the interior of dxt, back to [C, H, W]
        for (int64_t c = 0; c < C; ++c)
          for (int64_t h = 0; h < g.H; ++h)
            for (int64_t x_ = 0; x_ < g.W; ++x_)
              dxn[(c * g.H + h) * g.W + x_] = dxt[((h + g.ph) * Wp + x_ + g.pw) * C + c];
      }
    }
  }
  if (dw)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t k = 0; k < taps; ++k) {
        double s = 0;
        for (int t = 0; t < threads; ++t) s += dw_part[t][k * C + c];
        dw[c * taps + k] = static_cast<T>(s);
      }
  if (db)
    for (int64_t c = 0; c < C; ++c) {
      double s = 0;
      for (int t = 0; t < threads; ++t) s += db_part[t][c];
      db[c] = static_cast<T>(s);
    }
}

// ---- general path ----------------------------------------------------------------------------

// C [M, N] (row-major, row stride N) = op(A) op(B) + beta C on one thread: Eigen, or in
// MathMode::BF16 (float32 tensors) the bfloat16 product of ops/cpu/gemm_bf16_cpu.h.
template <class T>
void gemm_one(bool bf16, const T* A, bool ta, int64_t lda, const T* B, bool tb, int64_t ldb, T beta, T* C, int64_t M,
              int64_t N, int64_t K) {
  if constexpr (std::is_same_v<T, float>) {
    if (bf16) return gemm_bf16(A, ta, lda, B, tb, ldb, 1.f, beta, C, N, M, N, K);
  }
  Eigen::Map<const RowMat<T>, 0, Eigen::OuterStride<>> MA(A, ta ? K : M, ta ? M : K, Eigen::OuterStride<>(lda));
  Eigen::Map<const RowMat<T>, 0, Eigen::OuterStride<>> MB(B, tb ? N : K, tb ? K : N, Eigen::OuterStride<>(ldb));
  Eigen::Map<RowMat<T>> MC(C, M, N);
  auto run = [&](const auto& opA, const auto& opB) {
    if (beta == T(0)) MC.noalias() = opA * opB;
    else MC.noalias() += opA * opB;  // beta is 0 or 1 here
  };
  if (!ta && !tb) run(MA, MB);
  else if (ta && !tb) run(MA.transpose(), MB);
  else if (!ta && tb) run(MA, MB.transpose());
  else run(MA.transpose(), MB.transpose());
}

template <class T>
void general_forward(const T* x, const T* w, const T* bias, const Geometry& g, T* y, bool bf16) {
  int64_t ohw = g.OH * g.OW;
  int threads = image_threads(g.N);
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    std::vector<T> col(g.pointwise() ? 0 : g.K * ohw);
#pragma omp for schedule(static)
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t gi = 0; gi < g.G; ++gi) {
        const T* xg = x + (n * g.Cin + gi * g.Cg_in) * g.H * g.W;
        const T* cp = xg;
        if (!g.pointwise()) {
          im2col(xg, g, col.data());
          cp = col.data();
        }
        // Y [Cg_out, OH*OW] = W_g [Cg_out, K] @ col [K, OH*OW]
        gemm_one(bf16, w + gi * g.Cg_out * g.K, false, g.K, cp, false, ohw, T(0),
                 y + (n * g.Cout + gi * g.Cg_out) * ohw, g.Cg_out, ohw, g.K);
        Eigen::Map<RowMat<T>> Y(y + (n * g.Cout + gi * g.Cg_out) * ohw, g.Cg_out, ohw);
        if (bias)
          for (int64_t o = 0; o < g.Cg_out; ++o) Y.row(o).array() += bias[gi * g.Cg_out + o];
      }
  }
}

template <class T>
void general_backward(const T* x, const T* w, const T* dy, const Geometry& g, T* dx, T* dw, T* db, bool bf16) {
  int64_t ohw = g.OH * g.OW, wsize = g.Cout * g.K;
  int threads = image_threads(g.N);
  // Per-thread weight-gradient partials, added in thread order afterwards.
  std::vector<std::vector<T>> dw_part(dw ? threads : 0, std::vector<T>(dw ? wsize : 0, T(0)));
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    int t = omp_get_thread_num();
    std::vector<T> col(g.pointwise() ? 0 : g.K * ohw), dcol(g.pointwise() ? 0 : g.K * ohw);
#pragma omp for schedule(static)
    for (int64_t n = 0; n < g.N; ++n) {
      if (dx)
        for (int64_t i = 0; i < g.Cin * g.H * g.W; ++i) dx[n * g.Cin * g.H * g.W + i] = T(0);
      for (int64_t gi = 0; gi < g.G; ++gi) {
        const T* xg = x + (n * g.Cin + gi * g.Cg_in) * g.H * g.W;
        const T* DY = dy + (n * g.Cout + gi * g.Cg_out) * ohw;  // [Cg_out, OH*OW]
        const T* Wg = w + gi * g.Cg_out * g.K;                  // [Cg_out, K]
        if (dw) {
          const T* cp = xg;
          if (!g.pointwise()) {
            im2col(xg, g, col.data());
            cp = col.data();
          }
          // DW [Cg_out, K] += DY @ colᵀ
          gemm_one(bf16, DY, false, ohw, cp, true, ohw, T(1), dw_part[t].data() + gi * g.Cg_out * g.K, g.Cg_out,
                   g.K, ohw);
        }
        if (dx) {
          T* dxg = dx + (n * g.Cin + gi * g.Cg_in) * g.H * g.W;
          if (g.pointwise()) {
            gemm_one(bf16, Wg, true, g.K, DY, false, ohw, T(0), dxg, g.Cg_in, ohw, g.Cg_out);  // W_gᵀ @ DY
          } else {
            gemm_one(bf16, Wg, true, g.K, DY, false, ohw, T(0), dcol.data(), g.K, ohw, g.Cg_out);  // [K, OH*OW]
            col2im_add(dcol.data(), g, dxg);
          }
        }
      }
    }
  }
  if (dw) {
    for (int64_t i = 0; i < wsize; ++i) dw[i] = T(0);
    for (int t = 0; t < threads; ++t)
      for (int64_t i = 0; i < wsize; ++i) dw[i] += dw_part[t][i];
  }
  if (db) {
#pragma omp parallel for schedule(static) if (g.N * g.Cout * ohw > kParallelGrain)
    for (int64_t c = 0; c < g.Cout; ++c) {
      double s = 0;
      for (int64_t n = 0; n < g.N; ++n)
        for (int64_t i = 0; i < ohw; ++i) s += dy[(n * g.Cout + c) * ohw + i];
      db[c] = static_cast<T>(s);
    }
  }
}

}  // namespace

void conv2d_depthwise_reference(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p,
                                Tensor& y) {
  Geometry g = geometry(x, w, y, p);
  HC_CHECK(g.channelwise(), "conv2d_depthwise_reference: not a depthwise convolution");
  dispatch_float(x.dtype(), "conv2d", [&](auto tag) {
    using T = decltype(tag);
    depthwise_forward_reference(x.data<T>(), w.data<T>(), bias.defined() ? bias.data<T>() : nullptr, g,
                                y.data<T>());
  });
}

void conv2d_depthwise_backward_reference(const Tensor& x, const Tensor& w, const Tensor& dy,
                                         const Conv2dParams& p, Tensor* dx, Tensor* dw, Tensor* dbias) {
  Geometry g = geometry(x, w, dy, p);
  HC_CHECK(g.channelwise(), "conv2d_depthwise_backward_reference: not a depthwise convolution");
  dispatch_float(x.dtype(), "conv2d_backward", [&](auto tag) {
    using T = decltype(tag);
    depthwise_backward_reference(x.data<T>(), w.data<T>(), dy.data<T>(), g, dx ? dx->data<T>() : nullptr,
                                 dw ? dw->data<T>() : nullptr, dbias ? dbias->data<T>() : nullptr);
  });
}

void CpuBackend::conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dParams& p,
                        Tensor& y) {
  Geometry g = geometry(x, w, y, p);
  if (g.depthwise() && reference_kernels()) return conv2d_depthwise_reference(x, w, bias, p, y);
  dispatch_float(x.dtype(), "conv2d", [&](auto tag) {
    using T = decltype(tag);
    const T* b = bias.defined() ? bias.data<T>() : nullptr;
    if (g.depthwise() && channels_last_depthwise(g))
      depthwise_forward_channels_last(x.data<T>(), w.data<T>(), b, g, y.data<T>());
    else if (g.channelwise()) depthwise_forward(x.data<T>(), w.data<T>(), b, g, y.data<T>());
    else general_forward(x.data<T>(), w.data<T>(), b, g, y.data<T>(), math_mode() == MathMode::BF16);
  });
}

void CpuBackend::conv2d_backward(const Tensor& x, const Tensor& w, const Tensor& dy,
                                 const Conv2dParams& p, Tensor* dx, Tensor* dw, Tensor* dbias) {
  Geometry g = geometry(x, w, dy, p);
  if (g.depthwise() && reference_kernels()) return conv2d_depthwise_backward_reference(x, w, dy, p, dx, dw, dbias);
  dispatch_float(x.dtype(), "conv2d_backward", [&](auto tag) {
    using T = decltype(tag);
    T* pdx = dx ? dx->data<T>() : nullptr;
    T* pdw = dw ? dw->data<T>() : nullptr;
    T* pdb = dbias ? dbias->data<T>() : nullptr;
    if (g.depthwise() && channels_last_depthwise(g))
      depthwise_backward_channels_last(x.data<T>(), w.data<T>(), dy.data<T>(), g, pdx, pdw, pdb);
    else if (g.channelwise()) depthwise_backward(x.data<T>(), w.data<T>(), dy.data<T>(), g, pdx, pdw, pdb);
    else general_backward(x.data<T>(), w.data<T>(), dy.data<T>(), g, pdx, pdw, pdb, math_mode() == MathMode::BF16);
  });
}

}  // namespace hc
