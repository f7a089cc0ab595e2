// Package httpapi serves the bridge over HTTP with gin: the main API port
// (health, bearer-token authentication, and the routes other parts of the
// bridge register) and the Home Assistant Ingress port, which only the
// Supervisor may reach (a small status page, or the dashboard of package
// dashboard when Config.NoStatusPage is set).
//
// A Server is built once from a Config with New and runs until its context is
// cancelled with Run, which shuts both listeners down gracefully.
//
// # Adding routes
//
// Routes on the main API port are registered in one place, registerRoutes in
// routes.go, on a gin.RouterGroup that already sits behind the authentication
// middleware; code outside this package adds its own through Config.Routes.
// Either way every route but the health path requires the API token when one
// is configured. Errors are answered with a JSON-RPC-style body written by
// writeError (errors.go), so clients see one error shape on every route.
package httpapi
