package httpapi

import "github.com/gin-gonic/gin"

// registerRoutes adds the main API's routes to api, which sits behind the
// authentication middleware. Routes built into this package are added here;
// Config.Routes comes last so that callers can extend, not override, them.
func (s *Server) registerRoutes(api *gin.RouterGroup) {
	if s.cfg.Routes != nil {
		s.cfg.Routes(api)
	}
}
