package simulator

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// discardWriter measures the handler, not a recorder's buffering.
type discardWriter struct {
	h http.Header
	n int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Write(b []byte) (int, error) { d.n += len(b); return len(b), nil }

func BenchmarkMultiGet100(b *testing.B) {
	settings := DefaultSettings()
	settings.RateLimitPerMinute = 1 << 30
	srv, err := New(Config{Seed: 1, Conversations: 1000, ClientID: "id", ClientSecret: "secret", Settings: settings})
	if err != nil {
		b.Fatal(err)
	}
	token := srv.tokens.issue(time.Now(), time.Hour)
	ids := make([]string, 100)
	for i := range ids {
		ids[i] = srv.gen.ConversationID(i * 7)
	}
	req := httptest.NewRequest(http.MethodGet, multiGetPath(ids...), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	w := &discardWriter{h: http.Header{}}

	srv.ServeHTTP(w, req)
	if w.n < 100*1000 {
		b.Fatalf("warm-up response too small: %d bytes", w.n)
	}
	b.SetBytes(int64(w.n))
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		w.n = 0
		srv.ServeHTTP(w, req)
	}
}
