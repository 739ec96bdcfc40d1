
// expected-error @+1 {{'pmpd.schedule' must be a #pmpd.schedule attribute, got #pmpd.precision<4>}}
module attributes {pmpd.schedule = #pmpd.precision<4>} {}

