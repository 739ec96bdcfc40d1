// A hand-written slice of a PMPD-compiled model: one packed projection served
// at the prefill precision and at each decode precision, and the per-step
// precision query the decode entry point dispatches on.
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0, 3 from 64, 2 from 128]>} {
  pmpd.weight @layers.0.q_proj = "model.layers.0.self_attn.q_proj"
      : !pmpd.qweight<512x512, parent = 4, seed = 2>

  func.func @prefill(%x: tensor<?x512xf32>) -> tensor<?x512xf32>
      attributes {pmpd.phase = #pmpd.phase<prefill>, pmpd.precision = #pmpd.precision<4>} {
    %w = pmpd.get_weight @layers.0.q_proj : !pmpd.qweight<512x512, parent = 4, seed = 2>
    %y = pmpd.qlinear %x, %w precision <4>
        : tensor<?x512xf32>, !pmpd.qweight<512x512, parent = 4, seed = 2> -> tensor<?x512xf32>
    return %y : tensor<?x512xf32>
  }

  func.func @decode_b2(%x: tensor<1x512xf32>) -> tensor<1x512xf32>
      attributes {pmpd.phase = #pmpd.phase<decode>, pmpd.precision = #pmpd.precision<2>} {
    %w = pmpd.get_weight @layers.0.q_proj : !pmpd.qweight<512x512, parent = 4, seed = 2>
    %y = pmpd.qlinear %x, %w precision <2>
        : tensor<1x512xf32>, !pmpd.qweight<512x512, parent = 4, seed = 2> -> tensor<1x512xf32>
    return %y : tensor<1x512xf32>
  }

  func.func @decode_bits(%step: i64) -> i32 {
    %bits = pmpd.step_precision %step
        schedule <prefill = 4, decode = [4 from 0, 3 from 64, 2 from 128]> : i64
    return %bits : i32
  }
}
