package native_test

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

func TestIngestDbg(t *testing.T) {
	srv := startServer(t, ingestMetrics())
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
