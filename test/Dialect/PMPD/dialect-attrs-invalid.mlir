// RUN: pmpd-opt %s --split-input-file --verify-diagnostics

// expected-error @+1 {{'pmpd.phase' must be a #pmpd.phase attribute, got "prefill"}}
func.func @string_phase() attributes {pmpd.phase = "prefill"} { return }

// -----

// expected-error @+1 {{'pmpd.phase' may only be attached to a function}}
module attributes {pmpd.phase = #pmpd.phase<decode>} {}

// -----

// expected-error @+1 {{'pmpd.precision' must be a #pmpd.precision attribute, got 4 : i64}}
func.func @int_precision() attributes {pmpd.precision = 4} { return }

// -----

// expected-error @+1 {{'pmpd.schedule' may only be attached to a module}}
func.func @scheduled() attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0]>} { return }

// -----

// expected-error @+1 {{'pmpd.schedule' must be a #pmpd.schedule attribute, got #pmpd.precision<4>}}
module attributes {pmpd.schedule = #pmpd.precision<4>} {}

// -----

// expected-error @+1 {{unknown pmpd attribute 'pmpd.speed'}}
func.func @unknown() attributes {pmpd.speed = 1} { return }

// -----

// expected-error @+1 {{'pmpd.model' must be a dictionary of the model configuration, got "llama"}}
module attributes {pmpd.model = "llama"} {}

// -----

// expected-error @+1 {{'pmpd.model' may only be attached to a module}}
func.func @model_on_func() attributes {pmpd.model = {num_layers = 2 : i64}} { return }
