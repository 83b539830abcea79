// Package logkey holds the slog attribute keys Nubo logs with, and a
// slog.Handler wrapper that adds the request ID carried in a context to every
// record logged with that context.
package logkey
