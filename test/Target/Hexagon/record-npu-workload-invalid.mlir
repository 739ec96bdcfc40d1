// RUN: pmpd-opt %s --split-input-file --verify-diagnostics --pmpd-record-npu-workload

// The workload is recorded from a specialized module: its schedule, and
// precisions on every projection.

// expected-error @+1 {{the module has no pmpd.schedule: the NPU workload is recorded from a specialized module}}
module {
}

// -----

// expected-error @+1 {{a pmpd.qlinear without a precision: the NPU workload is recorded after precision assignment}}
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0]>} {
  pmpd.weight @w = "w" : !pmpd.qweight<32x64, parent = 4, seed = 2>
  func.func @prefill(%x: tensor<?x64xf32>) -> tensor<?x32xf32> attributes {pmpd.phase = #pmpd.phase<prefill>, pmpd.precision = #pmpd.precision<4>} {
    %w = pmpd.get_weight @w : !pmpd.qweight<32x64, parent = 4, seed = 2>
    %y = pmpd.qlinear %x, %w : tensor<?x64xf32>, !pmpd.qweight<32x64, parent = 4, seed = 2> -> tensor<?x32xf32>
    return %y : tensor<?x32xf32>
  }
}
