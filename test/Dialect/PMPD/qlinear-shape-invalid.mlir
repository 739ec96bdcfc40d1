// RUN: pmpd-opt %s --split-input-file --verify-diagnostics

!w = !pmpd.qweight<64x32, parent = 4, seed = 2>

func.func @input_features(%x: tensor<?x16xf32>, %w: !w) {
  // expected-error @+1 {{input has 16 features but the weight has 32 columns}}
  %y = pmpd.qlinear %x, %w : tensor<?x16xf32>, !w -> tensor<?x64xf32>
  return
}

// -----

!w = !pmpd.qweight<64x32, parent = 4, seed = 2>

func.func @output_features(%x: tensor<?x32xf32>, %w: !w) {
  // expected-error @+1 {{result has 48 features but the weight has 64 rows}}
  %y = pmpd.qlinear %x, %w : tensor<?x32xf32>, !w -> tensor<?x48xf32>
  return
}

// -----

!w = !pmpd.qweight<64x32, parent = 4, seed = 2>

func.func @rank(%x: tensor<4x32xf32>, %w: !w) {
  // expected-error @+1 {{result rank 3 differs from input rank 2}}
  %y = pmpd.qlinear %x, %w : tensor<4x32xf32>, !w -> tensor<1x4x64xf32>
  return
}

// -----

!w = !pmpd.qweight<64x32, parent = 4, seed = 2>

func.func @element_type(%x: tensor<4x32xf32>, %w: !w) {
  // expected-error @+1 {{result element type 'f16' differs from input's 'f32'}}
  %y = pmpd.qlinear %x, %w : tensor<4x32xf32>, !w -> tensor<4x64xf16>
  return
}

// -----

!w = !pmpd.qweight<64x32, parent = 4, seed = 2>

func.func @leading_dims(%x: tensor<4x32xf32>, %w: !w) {
  // expected-error @+1 {{result dimension 0 (5) differs from input's (4)}}
  %y = pmpd.qlinear %x, %w : tensor<4x32xf32>, !w -> tensor<5x64xf32>
  return
}

// -----

!w = !pmpd.qweight<64x32, parent = 4, seed = 2>

func.func @bias_size(%x: tensor<4x32xf32>, %w: !w, %b: tensor<32xf32>) {
  // expected-error @+1 {{bias must be a vector of 64 elements, got 'tensor<32xf32>'}}
  %y = pmpd.qlinear %x, %w bias(%b : tensor<32xf32>) : tensor<4x32xf32>, !w -> tensor<4x64xf32>
  return
}

// -----

func.func @tensor_weight_rank(%x: tensor<4x32xf32>, %w: tensor<2x64x32xf16>) {
  // expected-error @+1 {{weight tensor must be a matrix, got 'tensor<2x64x32xf16>'}}
  %y = pmpd.qlinear %x, %w : tensor<4x32xf32>, tensor<2x64x32xf16> -> tensor<4x64xf32>
  return
}

// -----

func.func @tensor_weight_type(%x: tensor<4x32xf32>, %w: tensor<64x32xf32>) {
  // expected-error @+1 {{a tensor weight must be fp16, got 'tensor<64x32xf32>'}}
  %y = pmpd.qlinear %x, %w : tensor<4x32xf32>, tensor<64x32xf32> -> tensor<4x64xf32>
  return
}
