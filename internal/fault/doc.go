// Package fault holds the client-safe error kinds shared by the domain and
// API layers. Domain code returns *fault.Error; each API package renders it in
// its own service's dialect. Msg is safe to show a client; Err reaches only
// the logs. It imports nothing from Nubo.
package fault
