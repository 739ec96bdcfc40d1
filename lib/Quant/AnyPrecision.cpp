//===- AnyPrecision.cpp - Any-precision weight quantization ---------------===//
//
// In one dimension the clusters of k-means are intervals of the sorted
// values, so with prefix sums of weight, weight*value and weight*value^2 the
// cost of any cluster is O(1): the seed clustering is the globally optimal
// one (dynamic programming over interval boundaries), and each upscaling
// split is the exact optimum found by scanning every split point.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Quant/AnyPrecision.h"
#include "pmpd/Support/Half.h"

#include "llvm/Support/Parallel.h"

#include <algorithm>
#include <cassert>
#include <cmath>

using namespace pmpd;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

unsigned AnyPrecisionWeight::code(unsigned bits, int64_t row,
                                  int64_t col) const {
  unsigned c = 0;
  for (unsigned j = 0; j < bits; ++j) {
    const uint8_t *plane = planes.data() + size_t(j) * rows * rowBytes();
    c = (c << 1) | ((plane[row * rowBytes() + col / 8] >> (col % 8)) & 1);
  }
  return c;
}

std::vector<float> AnyPrecisionWeight::dequantize(unsigned bits) const {
  assert(bits >= seedBits && bits <= parentBits && "no table for this width");
  std::vector<float> out(rows * cols);
  const std::vector<uint16_t> &lut = luts[bits - seedBits];
  int64_t entries = int64_t(1) << bits;
  llvm::parallelFor(0, rows, [&](size_t r) {
    for (int64_t c = 0; c < cols; ++c)
      out[r * cols + c] = halfToFloat(lut[r * entries + code(bits, r, c)]);
  });
  return out;
}

double AnyPrecisionWeight::bitsPerWeight(unsigned bits) const {
  return bits + double(int64_t(16) << bits) / cols;
}

namespace {

/// One row's values in ascending order with prefix sums of the weights.
class SortedRow {
public:
  SortedRow(const float *w, const float *h, int64_t n) : order(n) {
    // Ties keep column order, so the result does not depend on the sort
    // algorithm; sorting the pairs themselves is faster than sorting indices
    // through the row.
    std::vector<std::pair<float, int64_t>> keyed(n);
    for (int64_t i = 0; i < n; ++i)
      keyed[i] = {w[i], i};
    std::sort(keyed.begin(), keyed.end());
    for (int64_t i = 0; i < n; ++i)
      order[i] = keyed[i].second;
    values.resize(n);
    sumH.assign(n + 1, 0.0);
    sumHW.assign(n + 1, 0.0);
    sumHWW.assign(n + 1, 0.0);
    for (int64_t i = 0; i < n; ++i) {
      double v = w[order[i]], weight = h[order[i]];
      values[i] = v;
      sumH[i + 1] = sumH[i] + weight;
      sumHW[i + 1] = sumHW[i] + weight * v;
      sumHWW[i + 1] = sumHWW[i] + weight * v * v;
    }
  }

  int64_t size() const { return values.size(); }
  int64_t column(int64_t i) const { return order[i]; }

  /// Weighted SSE of [a, b) around its weighted mean.
  double cost(int64_t a, int64_t b) const {
    double h = sumH[b] - sumH[a];
    if (h <= 0)
      return 0;
    double hw = sumHW[b] - sumHW[a];
    return std::max(0.0, (sumHWW[b] - sumHWW[a]) - hw * hw / h);
  }

  /// Weighted mean of [a, b); the plain mean where the weights vanish, and
  /// `fallback` for an empty interval.
  double mean(int64_t a, int64_t b, double fallback) const {
    if (a >= b)
      return fallback;
    double h = sumH[b] - sumH[a];
    if (h > 0)
      return (sumHW[b] - sumHW[a]) / h;
    double s = 0;
    for (int64_t i = a; i < b; ++i)
      s += values[i];
    return s / (b - a);
  }

private:
  std::vector<int64_t> order;
  std::vector<double> values, sumH, sumHW, sumHWW;
};

/// Boundaries b[0] = 0 <= b[1] <= ... <= b[k] = n of k intervals.
using Boundaries = std::vector<int64_t>;

/// One layer of the dynamic programme: current[i] is the least cost of
/// covering [0, i) with one interval more than `previous` allows, and
/// argmin[i] where that last interval starts.
class SeedLayer {
public:
  SeedLayer(const SortedRow &row, const std::vector<double> &previous,
            std::vector<double> &current, std::vector<int64_t> &argmin)
      : row(row), previous(previous), current(current), argmin(argmin) {}

  /// Fills current[lo..hi] knowing their argmins lie in [optLo, optHi]
  /// (the argmin is monotone in i for 1-D k-means). Ties go to the smallest
  /// start, which keeps the result independent of evaluation order.
  void solve(int64_t lo, int64_t hi, int64_t optLo, int64_t optHi) {
    while (lo <= hi) {
      int64_t mid = (lo + hi) / 2;
      double best = INFINITY;
      int64_t bestM = optLo;
      for (int64_t m = optLo, e = std::min(mid, optHi); m <= e; ++m) {
        double c = previous[m] + row.cost(m, mid);
        if (c < best) {
          best = c;
          bestM = m;
        }
      }
      current[mid] = best;
      argmin[mid] = bestM;
      // Recurse on the left half, loop on the right.
      solve(lo, mid - 1, optLo, bestM);
      lo = mid + 1;
      optLo = bestM;
    }
  }

private:
  const SortedRow &row;
  const std::vector<double> &previous;
  std::vector<double> &current;
  std::vector<int64_t> &argmin;
};

/// The seed clustering: the optimal `clusters` intervals of the sorted row
/// (globally optimal weighted 1-D k-means), by dynamic programming over the
/// last boundary with the divide-and-conquer speed-up that the monotone
/// optimal boundaries of 1-D k-means allow: O(k n log n). Lloyd's algorithm
/// would only find a local optimum, at no lower cost for these row lengths.
Boundaries seedClusters(const SortedRow &row, unsigned clusters) {
  int64_t n = row.size();
  std::vector<double> previous(n + 1), current(n + 1);
  // argmins[j][i]: start of the last of j + 1 intervals covering [0, i).
  std::vector<std::vector<int64_t>> argmins(clusters,
                                            std::vector<int64_t>(n + 1, 0));
  for (int64_t i = 0; i <= n; ++i)
    previous[i] = row.cost(0, i);
  for (unsigned j = 1; j < clusters; ++j) {
    SeedLayer(row, previous, current, argmins[j]).solve(0, n, 0, n);
    std::swap(previous, current);
  }
  Boundaries bounds(clusters + 1);
  bounds[clusters] = n;
  for (unsigned j = clusters - 1; j > 0; --j)
    bounds[j] = argmins[j][bounds[j + 1]];
  bounds[0] = 0;
  return bounds;
}

/// Splits every interval at its cost-optimal point: one more bit.
Boundaries splitAll(const SortedRow &row, const Boundaries &bounds) {
  Boundaries next = {0};
  for (size_t i = 0; i + 1 < bounds.size(); ++i) {
    int64_t a = bounds[i], b = bounds[i + 1];
    int64_t best = a;
    double bestCost = row.cost(a, b);
    for (int64_t c = a + 1; c < b; ++c) {
      double cost = row.cost(a, c) + row.cost(c, b);
      if (cost < bestCost) {
        bestCost = cost;
        best = c;
      }
    }
    next.push_back(best);
    next.push_back(b);
  }
  return next;
}

void quantizeRow(const float *w, const float *h, int64_t cols,
                 const AnyPrecisionOptions &options, int64_t row,
                 AnyPrecisionWeight &out) {
  SortedRow sorted(w, h, cols);
  unsigned s = options.seedBits, p = options.parentBits;
  std::vector<Boundaries> levels = {seedClusters(sorted, 1u << s)};
  for (unsigned b = s + 1; b <= p; ++b)
    levels.push_back(splitAll(sorted, levels.back()));

  // Tables: the weighted mean of every cluster of every width; an empty
  // cluster repeats its parent's centroid so that every entry is defined.
  std::vector<double> parentCenters;
  for (unsigned b = s; b <= p; ++b) {
    const Boundaries &bounds = levels[b - s];
    int64_t entries = int64_t(1) << b;
    std::vector<double> centers(entries);
    for (int64_t i = 0; i < entries; ++i) {
      double fallback = parentCenters.empty()
                            ? (i ? centers[i - 1] : sorted.mean(0, cols, 0))
                            : parentCenters[i / 2];
      centers[i] = sorted.mean(bounds[i], bounds[i + 1], fallback);
      out.luts[b - s][row * entries + i] = floatToHalf(float(centers[i]));
    }
    parentCenters = std::move(centers);
  }

  // Codes of the parent width; its top bits are every narrower code because
  // cluster i of width b splits into clusters 2i and 2i+1 of width b + 1.
  const Boundaries &finest = levels.back();
  int64_t rowBytes = out.rowBytes();
  for (int64_t cluster = 0; cluster + 1 < int64_t(finest.size()); ++cluster)
    for (int64_t i = finest[cluster]; i < finest[cluster + 1]; ++i) {
      int64_t col = sorted.column(i);
      for (unsigned j = 0; j < p; ++j)
        if ((cluster >> (p - 1 - j)) & 1)
          out.planes[(size_t(j) * out.rows + row) * rowBytes + col / 8] |=
              uint8_t(1u << (col % 8));
    }
}

} // namespace

llvm::Expected<AnyPrecisionWeight>
pmpd::quantizeAnyPrecision(llvm::ArrayRef<float> w, int64_t rows, int64_t cols,
                           llvm::ArrayRef<float> importance,
                           const AnyPrecisionOptions &options) {
  unsigned s = options.seedBits, p = options.parentBits;
  if (s < 2 || p > 8 || s > p)
    return makeError("unsupported any-precision widths: seed " +
                     llvm::Twine(s) + ", parent " + llvm::Twine(p) +
                     " (need 2 <= seed <= parent <= 8)");
  if (rows <= 0 || cols <= 0 || int64_t(w.size()) != rows * cols)
    return makeError("weight of " + llvm::Twine(w.size()) +
                     " elements is not " + llvm::Twine(rows) + " x " +
                     llvm::Twine(cols));
  bool perColumn = int64_t(importance.size()) == cols;
  bool perElement = int64_t(importance.size()) == rows * cols;
  if (!importance.empty() && !perColumn && !perElement)
    return makeError("importance has " + llvm::Twine(importance.size()) +
                     " values; expected " + llvm::Twine(cols) +
                     " (per column) or " + llvm::Twine(rows * cols) +
                     " (per element)");
  for (float v : importance)
    if (!(v >= 0) || !std::isfinite(v))
      return makeError("importance values must be finite and non-negative");
  for (int64_t i = 0; i < rows * cols; ++i)
    if (!std::isfinite(w[i]))
      return makeError("weight element (" + llvm::Twine(i / cols) + ", " +
                       llvm::Twine(i % cols) + ") is not finite");

  AnyPrecisionWeight out;
  out.rows = rows;
  out.cols = cols;
  out.seedBits = s;
  out.parentBits = p;
  out.planes.assign(size_t(p) * rows * out.rowBytes(), 0);
  for (unsigned b = s; b <= p; ++b)
    out.luts.emplace_back(size_t(rows) << b, 0);
  std::vector<float> ones;
  if (importance.empty())
    ones.assign(cols, 1.0f);
  llvm::parallelFor(0, rows, [&](size_t r) {
    const float *h = importance.empty() ? ones.data()
                     : perColumn        ? importance.data()
                                        : importance.data() + r * cols;
    quantizeRow(w.data() + r * cols, h, cols, options, r, out);
  });
  return out;
}

std::vector<float> pmpd::roundToNearest(llvm::ArrayRef<float> w, int64_t rows,
                                        int64_t cols, unsigned bits,
                                        int64_t groupSize) {
  std::vector<float> out(rows * cols);
  float levels = float((1u << bits) - 1);
  llvm::parallelFor(0, rows, [&](size_t r) {
    for (int64_t g = 0; g < cols; g += groupSize) {
      int64_t end = std::min(cols, g + groupSize);
      const float *src = w.data() + r * cols;
      float lo = *std::min_element(src + g, src + end);
      float hi = *std::max_element(src + g, src + end);
      float scale = halfToFloat(floatToHalf((hi - lo) / levels));
      if (scale <= 0) {
        for (int64_t c = g; c < end; ++c)
          out[r * cols + c] = src[c];
        continue;
      }
      float zero = std::min(levels, std::max(0.0f, std::round(-lo / scale)));
      for (int64_t c = g; c < end; ++c) {
        float q =
            std::min(levels, std::max(0.0f, std::round(src[c] / scale) + zero));
        out[r * cols + c] = (q - zero) * scale;
      }
    }
  });
  return out;
}

double pmpd::roundToNearestBitsPerWeight(unsigned bits, int64_t groupSize) {
  return bits + double(16 + bits) / groupSize;
}

double pmpd::weightedSquaredError(llvm::ArrayRef<float> w,
                                  llvm::ArrayRef<float> q, int64_t rows,
                                  int64_t cols,
                                  llvm::ArrayRef<float> importance) {
  double err = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      double h = importance.empty() ? 1.0
                 : int64_t(importance.size()) == cols
                     ? importance[c]
                     : importance[r * cols + c];
      double d = double(w[r * cols + c]) - q[r * cols + c];
      err += h * d * d;
    }
  return err;
}

