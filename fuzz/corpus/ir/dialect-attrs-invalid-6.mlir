
// expected-error @+1 {{'pmpd.model' must be a dictionary of the model configuration, got "llama"}}
module attributes {pmpd.model = "llama"} {}

