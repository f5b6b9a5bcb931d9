package influx

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cc-metric-bridge/cc-metric-bridge/auth"
)

// authorize checks the request's credentials when a Verifier is set and
// answers 401 in the shape of ver if they are missing or invalid. On
// success it stores the token's claims under auth.ClaimsKey, as the auth
// middleware does.
func (a *API) authorize(c *gin.Context, ver apiVersion) bool {
	v := a.opt.Verifier
	if v == nil {
		return true
	}
	tok, ok := credential(c)
	if ok {
		claims, err := v.Verify("Bearer " + tok)
		if err == nil {
			c.Set(auth.ClaimsKey, claims)
			return true
		}
	}
	if ver == v2 {
		a.fail(c, v2, http.StatusUnauthorized, "unauthorized", "unauthorized access")
		return false
	}
	c.Header("WWW-Authenticate", `Basic realm="InfluxDB"`)
	if !ok {
		a.fail(c, v1, http.StatusUnauthorized, "", "unable to parse authentication credentials")
		return false
	}
	a.fail(c, v1, http.StatusUnauthorized, "", "authorization failed")
	return false
}

// credential finds the JWT in any of the forms Influx clients send, in
// InfluxDB 1.x's order:
//
//   - query parameters u and p, the token as p (u is not checked);
//   - Authorization: Bearer <token>;
//   - Authorization: Token <token>, or Token <user>:<token> (1.x's form);
//   - HTTP Basic auth with the token as password (Telegraf's
//     outputs.influxdb with username/password; the user is not checked).
//
// There are no user accounts: the token alone is verified.
func credential(c *gin.Context) (string, bool) {
	if p := c.Query("p"); p != "" {
		return p, true
	}
	h := strings.TrimSpace(c.GetHeader("Authorization"))
	scheme, rest, _ := strings.Cut(h, " ")
	rest = strings.TrimSpace(rest)
	switch strings.ToLower(scheme) {
	case "bearer":
		return rest, rest != ""
	case "token":
		if i := strings.LastIndexByte(rest, ':'); i >= 0 {
			rest = rest[i+1:] // a JWT has no ':'
		}
		return rest, rest != ""
	case "basic":
		_, pass, ok := c.Request.BasicAuth()
		return pass, ok && pass != ""
	}
	return "", false
}
