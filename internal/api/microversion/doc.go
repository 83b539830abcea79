// Package microversion parses OpenStack API microversions ("2.47",
// "latest") from the OpenStack-API-Version header (and a service's legacy
// header, such as X-OpenStack-Nova-API-Version) once per request, in
// middleware, and keeps the result in the request context. Handlers ask
// FromContext(ctx).AtLeast(2, 47). It answers 400 for malformed versions and
// 406 for versions outside the service's range, and sets the response
// headers (OpenStack-API-Version, the legacy header, Vary) clients expect.
// It knows no service's resources and imports no domain package.
package microversion
