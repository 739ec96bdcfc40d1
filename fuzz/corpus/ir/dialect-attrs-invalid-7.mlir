
// expected-error @+1 {{'pmpd.model' may only be attached to a module}}
func.func @model_on_func() attributes {pmpd.model = {num_layers = 2 : i64}} { return }
