//===- LlamaReference.cpp - fp32 CPU forward pass of a LLaMA decoder ------===//
//
// Follows Hugging Face's LlamaForCausalLM (and its Mistral and Qwen2
// relatives) operation by operation, in fp32 throughout: RMSNorm, rotary
// embeddings in the rotate_half convention, grouped-query causal attention,
// the SiLU-gated MLP. Matrix products go through the packed GEMM; attention
// runs one (head, query block) per task.
//
//===----------------------------------------------------------------------===//

#include "pmpd/Reference/LlamaReference.h"

#include "llvm/ADT/Twine.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/Parallel.h"

#include <algorithm>
#include <cassert>
#include <cmath>

using namespace llvm;

namespace pmpd {

ProjectionObserver::~ProjectionObserver() = default;

static constexpr Projection kAllProjections[] = {
    Projection::Q,    Projection::K,  Projection::V,   Projection::O,
    Projection::Gate, Projection::Up, Projection::Down};

// Queries per attention task: small enough that causal blocks skip most of
// the masked keys and that heads x blocks spread evenly over the threads,
// large enough to keep the GEMM micro-kernel busy.
static constexpr int64_t kQueryBlock = 64;

Expected<std::unique_ptr<LlamaReference>>
LlamaReference::create(const HFModel &model) {
  std::unique_ptr<LlamaReference> ref(new LlamaReference());
  const ModelConfig &c = model.config();
  ref->cfg = c;
  if (c.hiddenSize <= 0 || c.numHeads <= 0 || c.numKVHeads <= 0 ||
      c.headDim <= 0 || c.headDim % 2 != 0 || c.numHeads % c.numKVHeads != 0 ||
      c.vocabSize <= 0 || c.numLayers < 0)
    return createStringError(inconvertibleErrorCode(),
                             model.dir() +
                                 ": config.json: sizes the reference cannot "
                                 "run (heads, head_dim or vocab)");

  auto load = [&](const std::string &name, std::vector<float> &out) -> Error {
    Expected<std::vector<float>> t = model.tensorF32(name);
    if (!t)
      return t.takeError();
    out = std::move(*t);
    return Error::success();
  };

  if (Error e = load("model.embed_tokens.weight", ref->embedding))
    return std::move(e);
  if (Error e = load("model.norm.weight", ref->finalNorm))
    return std::move(e);
  if (c.tieWordEmbeddings) {
    ref->lmHead = PackedMatrix::fromRowsNK(ref->embedding.data(), c.vocabSize,
                                           c.hiddenSize);
  } else {
    std::vector<float> head;
    if (Error e = load("lm_head.weight", head))
      return std::move(e);
    ref->lmHead =
        PackedMatrix::fromRowsNK(head.data(), c.vocabSize, c.hiddenSize);
  }

  ref->layers.resize(c.numLayers);
  for (int64_t l = 0; l < c.numLayers; ++l) {
    Layer &layer = ref->layers[l];
    std::string prefix = "model.layers." + std::to_string(l) + ".";
    if (Error e = load(prefix + "input_layernorm.weight", layer.inputNorm))
      return std::move(e);
    if (Error e = load(prefix + "post_attention_layernorm.weight",
                       layer.postAttentionNorm))
      return std::move(e);
    for (Projection p : kAllProjections) {
      std::vector<float> w;
      if (Error e = load(projectionTensorName(l, p), w))
        return std::move(e);
      auto [rows, cols] = projectionShape(c, p);
      layer.proj[unsigned(p)] = PackedMatrix::fromRowsNK(w.data(), rows, cols);
    }
    if (c.attentionBias)
      for (Projection p : {Projection::Q, Projection::K, Projection::V})
        if (Error e =
                load(prefix + "self_attn." + projectionName(p).str() + ".bias",
                     layer.bias[unsigned(p)]))
          return std::move(e);
  }

  int64_t half = c.headDim / 2;
  ref->invFreq.resize(half);
  for (int64_t i = 0; i < half; ++i)
    ref->invFreq[i] = std::pow(c.ropeTheta, -double(2 * i) / c.headDim);
  return std::move(ref);
}

Error LlamaReference::setProjection(int64_t layer, Projection p,
                                    ArrayRef<float> w) {
  if (layer < 0 || layer >= cfg.numLayers)
    return createStringError(inconvertibleErrorCode(),
                             "setProjection: layer " + Twine(layer) +
                                 " out of range (the model has " +
                                 Twine(cfg.numLayers) + ")");
  auto [rows, cols] = projectionShape(cfg, p);
  if (int64_t(w.size()) != rows * cols)
    return createStringError(
        inconvertibleErrorCode(),
        "setProjection: " + projectionTensorName(layer, p) + " must have " +
            Twine(rows) + "x" + Twine(cols) + " = " + Twine(rows * cols) +
            " elements, got " + Twine(w.size()));
  layers[layer].proj[unsigned(p)] =
      PackedMatrix::fromRowsNK(w.data(), rows, cols);
  return Error::success();
}

std::vector<float> LlamaReference::projection(int64_t layer,
                                              Projection p) const {
  assert(layer >= 0 && layer < cfg.numLayers && "layer out of range");
  return layers[layer].proj[unsigned(p)].unpackRowsNK();
}

Error LlamaReference::checkIds(ArrayRef<int32_t> ids) const {
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || ids[i] >= cfg.vocabSize)
      return createStringError(
          inconvertibleErrorCode(),
          "token id " + Twine(ids[i]) + " at position " + Twine(i) +
              " is outside the vocabulary (size " + Twine(cfg.vocabSize) + ")");
  return Error::success();
}

/// out[t] = x[t] * rsqrt(mean(x[t]^2) + eps) * w, as HF's LlamaRMSNorm does
/// in fp32 (the sum of squares is accumulated in double so that it does not
/// depend on summation order).
static void rmsNorm(const float *x, const std::vector<float> &w, float *out,
                    int64_t tokens, int64_t hidden, double eps) {
  for (int64_t t = 0; t < tokens; ++t) {
    const float *row = x + t * hidden;
    double sum = 0.0;
    for (int64_t i = 0; i < hidden; ++i)
      sum += double(row[i]) * row[i];
    float scale = float(1.0 / std::sqrt(sum / hidden + eps));
    float *o = out + t * hidden;
    for (int64_t i = 0; i < hidden; ++i)
      o[i] = row[i] * scale * w[i];
  }
}

/// Rotary embedding in HF's rotate_half convention: element i pairs with
/// i + d/2, both rotated by position * invFreq[i]; with `inverse`, rotated
/// back (the transpose, which the backward pass applies to gradients).
static void applyRope(float *x, int64_t tokens, int64_t heads, int64_t dim,
                      const std::vector<float> &cosTable,
                      const std::vector<float> &sinTable,
                      bool inverse = false) {
  int64_t half = dim / 2;
  for (int64_t t = 0; t < tokens; ++t) {
    const float *cs = cosTable.data() + t * half;
    const float *sn = sinTable.data() + t * half;
    for (int64_t h = 0; h < heads; ++h) {
      float *v = x + (t * heads + h) * dim;
      for (int64_t i = 0; i < half; ++i) {
        float a = v[i], b = v[i + half];
        float sin = inverse ? -sn[i] : sn[i];
        v[i] = a * cs[i] - b * sin;
        v[i + half] = b * cs[i] + a * sin;
      }
    }
  }
}

/// What the backward pass needs of a forward pass: per layer, the inputs of
/// both norms, of the projections and of the attention, and the attention
/// probabilities; then the final norm's input and the RoPE tables.
struct LlamaReference::Trace {
  struct Layer {
    std::vector<float> xIn, h1, q, k, v, probs, attn, xMid, h2, gate, up, act;
  };
  std::vector<Layer> layers;
  std::vector<float> xFinal;
  std::vector<float> cosTable, sinTable;
};

std::vector<float> LlamaReference::forward(ArrayRef<int32_t> ids,
                                           ProjectionObserver *observer) const {
  return forward(ids, observer, nullptr);
}

std::vector<float> LlamaReference::forward(ArrayRef<int32_t> ids,
                                           ProjectionObserver *observer,
                                           Trace *trace) const {
  // Out-of-range ids would read outside the embedding table; callers check
  // them first (checkIds), so reaching this is a programming error.
  if (Error e = checkIds(ids))
    report_fatal_error(std::move(e));
  const int64_t T = ids.size(), H = cfg.hiddenSize, D = cfg.headDim;
  const int64_t NH = cfg.numHeads, NKV = cfg.numKVHeads;
  const int64_t I = cfg.intermediateSize, V = cfg.vocabSize;
  const int64_t QW = NH * D, KW = NKV * D, group = NH / NKV;
  std::vector<float> logits(T * V);
  if (T == 0)
    return logits;

  std::vector<float> x(T * H), h(T * H), tmp(T * H);
  std::vector<float> q(T * QW), k(T * KW), v(T * KW), attn(T * QW);
  std::vector<float> gate(T * I), up(T * I);
  for (int64_t t = 0; t < T; ++t)
    std::copy_n(embedding.data() + int64_t(ids[t]) * H, H, x.data() + t * H);

  int64_t half = D / 2;
  std::vector<float> cosTable(T * half), sinTable(T * half);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < half; ++i) {
      double angle = double(t) * invFreq[i];
      cosTable[t * half + i] = float(std::cos(angle));
      sinTable[t * half + i] = float(std::sin(angle));
    }

  if (trace) {
    trace->cosTable = cosTable;
    trace->sinTable = sinTable;
  }

  auto observe = [&](int64_t l, Projection p, const float *in, int64_t f) {
    if (observer)
      observer->observe(l, p, in, T, f);
  };
  auto bias = [](const Layer &layer, Projection p) -> const float * {
    const std::vector<float> &b = layer.bias[unsigned(p)];
    return b.empty() ? nullptr : b.data();
  };

  const float scale = float(1.0 / std::sqrt(double(D)));
  const int64_t queryBlocks = (T + kQueryBlock - 1) / kQueryBlock;
  std::vector<PackedMatrix> keys(NKV), values(NKV);
  if (trace)
    trace->layers.resize(cfg.numLayers);

  for (int64_t l = 0; l < cfg.numLayers; ++l) {
    const Layer &layer = layers[l];
    auto proj = [&](Projection p) -> const PackedMatrix & {
      return layer.proj[unsigned(p)];
    };

    Trace::Layer *saved = trace ? &trace->layers[l] : nullptr;
    if (saved) {
      saved->xIn = x;
      saved->probs.assign(NH * T * T, 0.0f);
    }

    // Attention.
    rmsNorm(x.data(), layer.inputNorm, h.data(), T, H, cfg.rmsNormEps);
    observe(l, Projection::Q, h.data(), H);
    observe(l, Projection::K, h.data(), H);
    observe(l, Projection::V, h.data(), H);
    gemm(h.data(), H, proj(Projection::Q), bias(layer, Projection::Q), q.data(),
         QW, T);
    gemm(h.data(), H, proj(Projection::K), bias(layer, Projection::K), k.data(),
         KW, T);
    gemm(h.data(), H, proj(Projection::V), bias(layer, Projection::V), v.data(),
         KW, T);
    applyRope(q.data(), T, NH, D, cosTable, sinTable);
    applyRope(k.data(), T, NKV, D, cosTable, sinTable);
    if (saved) {
      saved->h1 = h;
      saved->q = q;
      saved->k = k;
      saved->v = v;
    }

    // K^T and V of each KV head, packed once and shared by its query heads.
    parallelFor(0, 2 * NKV, [&](size_t i) {
      int64_t kv = i / 2;
      if (i % 2 == 0)
        keys[kv] = PackedMatrix::fromRowsNK(k.data() + kv * D, T, D, KW);
      else
        values[kv] = PackedMatrix::fromKN(v.data() + kv * D, T, D, KW);
    });

    parallelFor(0, NH * queryBlocks, [&](size_t task) {
      int64_t head = task / queryBlocks, block = task % queryBlocks;
      int64_t t0 = block * kQueryBlock;
      int64_t rows = std::min(kQueryBlock, T - t0);
      // Queries t0..t0+rows-1 see keys 0..t0+rows-1.
      int64_t seen = t0 + rows;
      std::vector<float> scores(rows * seen);
      gemmPartial(q.data() + t0 * QW + head * D, QW, keys[head / group], D,
                  seen, nullptr, scores.data(), seen, rows,
                  /*parallel=*/false);
      for (int64_t r = 0; r < rows; ++r) {
        float *s = scores.data() + r * seen;
        int64_t visible = t0 + r + 1;
        float maxScore = -INFINITY;
        for (int64_t j = 0; j < visible; ++j) {
          s[j] *= scale;
          maxScore = std::max(maxScore, s[j]);
        }
        float sum = 0.0f;
        for (int64_t j = 0; j < visible; ++j) {
          s[j] = std::exp(s[j] - maxScore);
          sum += s[j];
        }
        float inv = 1.0f / sum;
        for (int64_t j = 0; j < visible; ++j)
          s[j] *= inv;
        std::fill(s + visible, s + seen, 0.0f);
        if (saved)
          std::copy_n(s, visible,
                      saved->probs.data() + (head * T + t0 + r) * T);
      }
      gemmPartial(scores.data(), seen, values[head / group], seen, D, nullptr,
                  attn.data() + t0 * QW + head * D, QW, rows,
                  /*parallel=*/false);
    });

    observe(l, Projection::O, attn.data(), QW);
    gemm(attn.data(), QW, proj(Projection::O), nullptr, tmp.data(), H, T);
    for (int64_t i = 0; i < T * H; ++i)
      x[i] += tmp[i];
    if (saved) {
      saved->attn = attn;
      saved->xMid = x;
    }

    // MLP: down(silu(gate(h)) * up(h)).
    rmsNorm(x.data(), layer.postAttentionNorm, h.data(), T, H, cfg.rmsNormEps);
    observe(l, Projection::Gate, h.data(), H);
    observe(l, Projection::Up, h.data(), H);
    gemm(h.data(), H, proj(Projection::Gate), nullptr, gate.data(), I, T);
    gemm(h.data(), H, proj(Projection::Up), nullptr, up.data(), I, T);
    if (saved) {
      saved->h2 = h;
      saved->gate = gate;
      saved->up = up;
    }
    for (int64_t i = 0; i < T * I; ++i) {
      float g = gate[i];
      gate[i] = g / (1.0f + std::exp(-g)) * up[i];
    }
    observe(l, Projection::Down, gate.data(), I);
    if (saved)
      saved->act = gate;
    gemm(gate.data(), I, proj(Projection::Down), nullptr, tmp.data(), H, T);
    for (int64_t i = 0; i < T * H; ++i)
      x[i] += tmp[i];
  }

  if (trace)
    trace->xFinal = x;
  rmsNorm(x.data(), finalNorm, h.data(), T, H, cfg.rmsNormEps);
  gemm(h.data(), H, lmHead, nullptr, logits.data(), V, T);
  return logits;
}

/// dx += the gradient through out = rmsNorm(x) * w, given dout.
static void rmsNormBackward(const float *x, const std::vector<float> &w,
                            const float *dout, float *dx, int64_t tokens,
                            int64_t hidden, double eps) {
  parallelFor(0, tokens, [&](size_t t) {
    const float *row = x + t * hidden;
    const float *d = dout + t * hidden;
    double sum = 0.0, dot = 0.0;
    for (int64_t i = 0; i < hidden; ++i) {
      sum += double(row[i]) * row[i];
      dot += double(w[i]) * d[i] * row[i];
    }
    double r = 1.0 / std::sqrt(sum / hidden + eps);
    double c = r * r * r * dot / hidden;
    float *o = dx + t * hidden;
    for (int64_t i = 0; i < hidden; ++i)
      o[i] += float(r * w[i] * d[i] - c * row[i]);
  });
}

/// Y[M, K] = dY[M, N] * W[N, K], for W row-major [N, K] (a projection's
/// Hugging Face layout): the gradient of a projection's input.
static std::vector<float> timesWeight(const std::vector<float> &dy,
                                      const std::vector<float> &w, int64_t m,
                                      int64_t n, int64_t k) {
  std::vector<float> out(m * k);
  gemm(dy.data(), n, PackedMatrix::fromKN(w.data(), n, k, k), nullptr,
       out.data(), k, m);
  return out;
}

/// G[N, K] = dY[M, N]^T * X[M, K]: a projection's weight gradient.
static std::vector<float> weightGradient(const float *dy, const float *x,
                                         int64_t m, int64_t n, int64_t k) {
  std::vector<float> dyT(n * m);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      dyT[j * m + i] = dy[i * n + j];
  std::vector<float> out(n * k);
  gemm(dyT.data(), m, PackedMatrix::fromKN(x, m, k, k), nullptr, out.data(), k,
       n);
  return out;
}

Error LlamaReference::projectionGradients(
    ArrayRef<int32_t> ids,
    function_ref<void(int64_t, Projection, ArrayRef<float>)> sink) const {
  if (ids.size() < 2)
    return createStringError(inconvertibleErrorCode(),
                             "gradients need a sequence of at least 2 ids");
  if (Error e = checkIds(ids))
    return e;
  const int64_t T = ids.size() - 1, H = cfg.hiddenSize, D = cfg.headDim;
  const int64_t NH = cfg.numHeads, NKV = cfg.numKVHeads;
  const int64_t I = cfg.intermediateSize, V = cfg.vocabSize;
  const int64_t QW = NH * D, KW = NKV * D, group = NH / NKV;
  Trace trace;
  std::vector<float> logits = forward(ids.drop_back(), nullptr, &trace);

  // d(sum of NLL)/d(logits) = softmax - one-hot of the next id.
  parallelFor(0, T, [&](size_t t) {
    float *row = logits.data() + t * V;
    float maxLogit = *std::max_element(row, row + V);
    double sum = 0.0;
    for (int64_t j = 0; j < V; ++j)
      sum += std::exp(double(row[j]) - maxLogit);
    for (int64_t j = 0; j < V; ++j)
      row[j] = float(std::exp(double(row[j]) - maxLogit) / sum);
    row[ids[t + 1]] -= 1.0f;
  });
  std::vector<float> dh = timesWeight(logits, lmHead.unpackRowsNK(), T, V, H);
  std::vector<float> dx(T * H, 0.0f);
  rmsNormBackward(trace.xFinal.data(), finalNorm, dh.data(), dx.data(), T, H,
                  cfg.rmsNormEps);

  const float scale = float(1.0 / std::sqrt(double(D)));

  for (int64_t l = cfg.numLayers - 1; l >= 0; --l) {
    const Layer &layer = layers[l];
    const Trace::Layer &saved = trace.layers[l];
    auto weight = [&](Projection p) {
      return layer.proj[unsigned(p)].unpackRowsNK();
    };

    // MLP: x_out = x_mid + down(silu(gate) * up).
    sink(l, Projection::Down,
         weightGradient(dx.data(), saved.act.data(), T, H, I));
    std::vector<float> dAct =
        timesWeight(dx, weight(Projection::Down), T, H, I);
    std::vector<float> dGate(T * I), dUp(T * I);
    for (int64_t i = 0; i < T * I; ++i) {
      float g = saved.gate[i];
      float sigmoid = 1.0f / (1.0f + std::exp(-g));
      dUp[i] = dAct[i] * g * sigmoid;
      dGate[i] =
          dAct[i] * saved.up[i] * sigmoid * (1.0f + g * (1.0f - sigmoid));
    }
    sink(l, Projection::Gate,
         weightGradient(dGate.data(), saved.h2.data(), T, I, H));
    sink(l, Projection::Up,
         weightGradient(dUp.data(), saved.h2.data(), T, I, H));
    std::vector<float> dh2 =
        timesWeight(dGate, weight(Projection::Gate), T, I, H);
    std::vector<float> fromUp =
        timesWeight(dUp, weight(Projection::Up), T, I, H);
    for (int64_t i = 0; i < T * H; ++i)
      dh2[i] += fromUp[i];
    rmsNormBackward(saved.xMid.data(), layer.postAttentionNorm, dh2.data(),
                    dx.data(), T, H, cfg.rmsNormEps);

    // Attention: x_mid = x_in + o(attention(q, k, v)).
    sink(l, Projection::O,
         weightGradient(dx.data(), saved.attn.data(), T, H, QW));
    std::vector<float> dAttn = timesWeight(dx, weight(Projection::O), T, H, QW);
    std::vector<float> dq(T * QW, 0.0f);
    // Key and value gradients per query head, summed over each group after.
    std::vector<float> dkHead(NH * T * D, 0.0f), dvHead(NH * T * D, 0.0f);
    parallelFor(0, NH, [&](size_t head) {
      // out = P V with P = softmax(scale * Q K^T), per head, as GEMMs.
      int64_t kv = head / group;
      const float *prob = saved.probs.data() + head * T * T;
      const float *dOut = dAttn.data() + head * D;
      const float *qHead = saved.q.data() + head * D;
      const float *kHead = saved.k.data() + kv * D;
      const float *vHead = saved.v.data() + kv * D;
      // dP = dOut V^T, then dS = P * (dP - rowsum(P * dP)) * scale.
      std::vector<float> dS(T * T), transposed(T * T);
      gemm(dOut, QW, PackedMatrix::fromRowsNK(vHead, T, D, KW), nullptr,
           dS.data(), T, T, /*parallel=*/false);
      for (int64_t t = 0; t < T; ++t) {
        float *row = dS.data() + t * T;
        const float *p = prob + t * T;
        double weighted = 0.0;
        for (int64_t j = 0; j <= t; ++j)
          weighted += double(p[j]) * row[j];
        for (int64_t j = 0; j < T; ++j)
          row[j] = p[j] * (row[j] - float(weighted)) * scale;
      }
      // dQ = dS K; dK = dS^T Q; dV = P^T dOut.
      gemm(dS.data(), T, PackedMatrix::fromKN(kHead, T, D, KW), nullptr,
           dq.data() + head * D, QW, T, /*parallel=*/false);
      auto transpose = [&](const float *m) {
        for (int64_t i = 0; i < T; ++i)
          for (int64_t j = 0; j < T; ++j)
            transposed[j * T + i] = m[i * T + j];
      };
      transpose(dS.data());
      gemm(transposed.data(), T, PackedMatrix::fromKN(qHead, T, D, QW), nullptr,
           dkHead.data() + head * T * D, D, T, /*parallel=*/false);
      transpose(prob);
      gemm(transposed.data(), T, PackedMatrix::fromKN(dOut, T, D, QW), nullptr,
           dvHead.data() + head * T * D, D, T, /*parallel=*/false);
    });
    std::vector<float> dk(T * KW, 0.0f), dv(T * KW, 0.0f);
    for (int64_t head = 0; head < NH; ++head)
      for (int64_t t = 0; t < T; ++t)
        for (int64_t d = 0; d < D; ++d) {
          int64_t to = t * KW + (head / group) * D + d;
          dk[to] += dkHead[(head * T + t) * D + d];
          dv[to] += dvHead[(head * T + t) * D + d];
        }
    applyRope(dq.data(), T, NH, D, trace.cosTable, trace.sinTable,
              /*inverse=*/true);
    applyRope(dk.data(), T, NKV, D, trace.cosTable, trace.sinTable,
              /*inverse=*/true);
    sink(l, Projection::Q,
         weightGradient(dq.data(), saved.h1.data(), T, QW, H));
    sink(l, Projection::K,
         weightGradient(dk.data(), saved.h1.data(), T, KW, H));
    sink(l, Projection::V,
         weightGradient(dv.data(), saved.h1.data(), T, KW, H));
    std::vector<float> dh1 = timesWeight(dq, weight(Projection::Q), T, QW, H);
    for (auto [grad, p] :
         {std::pair{&dk, Projection::K}, {&dv, Projection::V}}) {
      std::vector<float> part = timesWeight(*grad, weight(p), T, KW, H);
      for (int64_t i = 0; i < T * H; ++i)
        dh1[i] += part[i];
    }
    rmsNormBackward(saved.xIn.data(), layer.inputNorm, dh1.data(), dx.data(), T,
                    H, cfg.rmsNormEps);
  }
  return Error::success();
}

double LlamaReference::sequenceNLL(ArrayRef<int32_t> ids,
                                   int64_t &count) const {
  count = 0;
  if (ids.size() < 2)
    return 0.0;
  // The last id is only predicted, never used as context.
  std::vector<float> logits = forward(ids.drop_back());
  const int64_t V = cfg.vocabSize, rows = ids.size() - 1;
  // Rows in parallel, summed in order afterwards so that the total does not
  // depend on the thread count.
  std::vector<double> nll(rows);
  parallelFor(0, rows, [&](size_t t) {
    const float *row = logits.data() + t * V;
    float maxLogit = *std::max_element(row, row + V);
    double sum = 0.0;
    for (int64_t j = 0; j < V; ++j)
      sum += std::exp(row[j] - maxLogit);
    nll[t] = maxLogit + std::log(sum) - row[ids[t + 1]];
  });
  double total = 0.0;
  for (double x : nll)
    total += x;
  count = ids.size() - 1;
  return total;
}

double PerplexityResult::perplexity() const {
  return tokens ? std::exp(totalNLL / tokens) : NAN;
}

Expected<PerplexityResult>
evaluatePerplexity(const LlamaReference &model,
                   ArrayRef<std::vector<int32_t>> docs,
                   const PerplexityOptions &options) {
  if (options.maxLength < 2 || options.minLength < 2)
    return createStringError(inconvertibleErrorCode(),
                             "perplexity: maximum and minimum document "
                             "lengths must be at least 2");
  PerplexityResult result;
  for (size_t d = 0; d < docs.size(); ++d) {
    ArrayRef<int32_t> ids(docs[d]);
    ids = ids.take_front(options.maxLength);
    if (int64_t(ids.size()) < options.minLength)
      continue;
    if (Error e = model.checkIds(ids))
      return createStringError(inconvertibleErrorCode(),
                               "perplexity: document " + Twine(d) + ": " +
                                   toString(std::move(e)));
    int64_t count = 0;
    result.totalNLL += model.sequenceNLL(ids, count);
    result.tokens += count;
    ++result.documents;
  }
  return result;
}

} // namespace pmpd
