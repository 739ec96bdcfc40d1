// The importer records the model configuration on the module as
// `pmpd.model`; it is a plain dictionary that survives a round trip.

// CHECK: module attributes {pmpd.model = {arch = "LlamaForCausalLM", head_dim = 64 : i64, hidden_size = 512 : i64, intermediate_size = 1408 : i64, max_positions = 1024 : i64, num_heads = 8 : i64, num_kv_heads = 4 : i64, num_layers = 6 : i64, rms_norm_eps = 9.9999999999999995E-7 : f64, rope_theta = 1.000000e+04 : f64, vocab_size = 8192 : i64}}
module attributes {pmpd.model = {arch = "LlamaForCausalLM", head_dim = 64 : i64, hidden_size = 512 : i64, intermediate_size = 1408 : i64, max_positions = 1024 : i64, num_heads = 8 : i64, num_kv_heads = 4 : i64, num_layers = 6 : i64, rms_norm_eps = 1.0e-6 : f64, rope_theta = 10000.0 : f64, vocab_size = 8192 : i64}} {
}
