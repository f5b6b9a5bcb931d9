package native_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/cc-metric-bridge/cc-metric-bridge/core"
	"github.com/cc-metric-bridge/cc-metric-bridge/native"
)

func TestIngestDbg(t *testing.T) {
	st, _ := core.New(core.Options{DefaultFrequency: 60})
	gin.SetMode(gin.ReleaseMode)
	engine := native.NewEngine()
	engine.Use(func(c *gin.Context) {
		t0 := time.Now()
		c.Next()
		t.Logf("server: %v", time.Since(t0))
	})
	native.New(native.Options{Store: st}).Register(engine)
	srv := httptest.NewServer(engine)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 2}}
	var wg sync.WaitGroup
	for c := 0; c < 2; c++ {
		body := newIngestBody(c * 4)
		wg.Go(func() {
			for i := 0; i < 10; i++ {
				t0 := time.Now()
				if err := postIngest(client, srv.URL+"/api/write", body.buf); err != nil {
					t.Error(err)
					return
				}
				t.Logf("client %d req %d: %v", c, i, time.Since(t0))
				body.next()
			}
		})
	}
	wg.Wait()
}
