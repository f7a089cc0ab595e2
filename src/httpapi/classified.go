package httpapi

// ClientError is an error as a client sees it: HTTP status, JSON-RPC code
// and message, data, and how long to wait before retrying.
type ClientError = apiError

// Classify maps err to what a client sees. It is the one classification of
// errors for every protocol this server speaks (the REST API here, MCP over
// HTTP in package mcphttp), so that a failure reads the same on each.
func Classify(err error) ClientError { return classify(err) }

// BodyError turns an error met while reading a request body into the one
// Classify maps to what the client sees: 413 past the size limit, 408 past
// the server's body read timeout, 400 for a malformed body.
func BodyError(err error) error { return bodyReadError(err) }
