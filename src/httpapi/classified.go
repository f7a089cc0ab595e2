package httpapi

// ClientError is an error as a client sees it: HTTP status, JSON-RPC code
// and message, data, and how long to wait before retrying.
type ClientError = apiError

// Classify maps err to what a client sees. It is the one classification of
// errors for every protocol this server speaks (the REST API here, MCP over
// HTTP in package mcphttp), so that a failure reads the same on each.
func Classify(err error) ClientError { return classify(err) }
