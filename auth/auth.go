// Package auth verifies the JSON Web Tokens that guard the data routes, the
// way cc-metric-store does: "Authorization: Bearer <token>", EdDSA (Ed25519)
// signatures only, exp/nbf/iat checked when present, no other claim checked.
//
// Error texts are cc-metric-store's (which used golang-jwt v4) wherever it
// documents them, so a 401 body reads the same on both servers.
package auth

import (
	"crypto/ed25519"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"
)

// MaxCachedTokens bounds the token cache (cc-metric-store's limit). At the
// cap expired entries are evicted, and if none are, the cache is cleared:
// cc-backend mints rotating tokens, so an unbounded cache would grow forever.
const MaxCachedTokens = 1024

// ClaimsKey is the gin context key under which Middleware stores the
// verified token's jwt.MapClaims.
const ClaimsKey = "cc-metric-bridge/auth.claims"

// bearerPrefix is matched case-sensitively, as cc-metric-store does.
const bearerPrefix = "Bearer "

// Errors returned by Verify. Error() is the text sent in the 401 body;
// failures from the jwt library also match the library's sentinels with
// errors.Is (jwt.ErrTokenExpired, jwt.ErrTokenSignatureInvalid, ...).
var (
	// ErrNoBearer: the header is missing or not "Bearer <token>".
	ErrNoBearer = errors.New("Use JWT Authentication") //nolint:staticcheck // reference text, capitalised
	// ErrAlgorithm: the token's alg is not EdDSA (HS256, none, RS256, ...).
	ErrAlgorithm = errors.New("only Ed25519/EdDSA supported")
)

// Verifier checks tokens against one Ed25519 public key and caches the
// tokens it accepted. It is safe for concurrent use.
type Verifier struct {
	key       ed25519.PublicKey
	parser    *jwt.Parser
	validator *jwt.Validator
	now       func() time.Time // replaced in tests

	mu    sync.RWMutex
	cache map[string]jwt.MapClaims // raw token → its verified claims
}

// NewVerifier returns a Verifier for key. It panics unless key is a 32-byte
// Ed25519 public key: a configured key must never be silently ignored, and
// config.Load already rejects bad keys.
func NewVerifier(key ed25519.PublicKey) *Verifier {
	if len(key) != ed25519.PublicKeySize {
		panic("auth: NewVerifier needs a 32-byte Ed25519 public key")
	}
	v := &Verifier{
		key:   append(ed25519.PublicKey(nil), key...),
		now:   time.Now,
		cache: make(map[string]jwt.MapClaims),
	}
	timeFunc := jwt.WithTimeFunc(func() time.Time { return v.now() })
	// No leeway and no required claims: a token without exp never expires.
	v.parser = jwt.NewParser(jwt.WithIssuedAt(), timeFunc)
	v.validator = jwt.NewValidator(jwt.WithIssuedAt(), timeFunc)
	return v
}

// Verify checks an Authorization header value and returns the token's
// claims. The returned map is shared with the cache: read it, never modify
// it. A cached token only has its time claims re-checked.
func (v *Verifier) Verify(authHeader string) (jwt.MapClaims, error) {
	raw, ok := strings.CutPrefix(authHeader, bearerPrefix)
	if !ok {
		return nil, ErrNoBearer
	}

	v.mu.RLock()
	claims, hit := v.cache[raw]
	v.mu.RUnlock()
	if hit {
		err := v.validator.Validate(claims)
		if err == nil {
			return claims, nil
		}
		v.mu.Lock()
		delete(v.cache, raw)
		v.mu.Unlock()
		return nil, claimsError(err)
	}

	claims = jwt.MapClaims{}
	if _, err := v.parser.ParseWithClaims(raw, claims, v.keyFunc); err != nil {
		return nil, parseError(err)
	}
	v.remember(raw, claims)
	return claims, nil
}

func (v *Verifier) keyFunc(t *jwt.Token) (any, error) {
	if t.Method != jwt.SigningMethodEdDSA {
		return nil, ErrAlgorithm
	}
	return v.key, nil
}

func (v *Verifier) remember(raw string, claims jwt.MapClaims) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.cache) >= MaxCachedTokens {
		for k, c := range v.cache {
			if v.validator.Validate(c) != nil {
				delete(v.cache, k)
			}
		}
		if len(v.cache) >= MaxCachedTokens {
			clear(v.cache)
		}
	}
	v.cache[raw] = claims
}

// Middleware rejects requests without a valid token with 401 and a
// text/plain body "<message>\n" (as http.Error writes it), and stores the
// claims of accepted tokens under ClaimsKey.
func (v *Verifier) Middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		claims, err := v.Verify(c.GetHeader("Authorization"))
		if err != nil {
			c.Header("X-Content-Type-Options", "nosniff")
			c.Data(http.StatusUnauthorized, "text/plain; charset=utf-8", []byte(err.Error()+"\n"))
			c.Abort()
			return
		}
		c.Set(ClaimsKey, claims)
		c.Next()
	}
}

// ClaimsFrom returns the claims Middleware stored in c.
func ClaimsFrom(c *gin.Context) (jwt.MapClaims, bool) {
	v, ok := c.Get(ClaimsKey)
	if !ok {
		return nil, false
	}
	claims, ok := v.(jwt.MapClaims)
	return claims, ok
}

// verifyError keeps the jwt library's error for errors.Is while showing
// cc-metric-store's text.
type verifyError struct {
	msg string
	err error
}

func (e *verifyError) Error() string { return e.msg }
func (e *verifyError) Unwrap() error { return e.err }

// parseError maps a jwt.Parser error to the text cc-metric-store sends.
func parseError(err error) error {
	switch {
	case errors.Is(err, ErrAlgorithm):
		return &verifyError{msg: ErrAlgorithm.Error(), err: err}
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		// The alg header is missing or names no known method: also not
		// EdDSA.
		return &verifyError{msg: ErrAlgorithm.Error(), err: errors.Join(ErrAlgorithm, err)}
	case errors.Is(err, jwt.ErrEd25519Verification):
		return &verifyError{msg: jwt.ErrEd25519Verification.Error(), err: err}
	case errors.Is(err, jwt.ErrTokenInvalidClaims):
		return claimsError(err)
	}
	return err
}

// claimsError maps a time-claim failure to golang-jwt v4's text. v4 checked
// exp, iat, nbf in that order and reported the last failure, so nbf wins.
func claimsError(err error) error {
	switch {
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return &verifyError{msg: "Token is not valid yet", err: err}
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return &verifyError{msg: "Token used before issued", err: err}
	case errors.Is(err, jwt.ErrTokenExpired):
		return &verifyError{msg: "Token is expired", err: err}
	}
	return err
}
