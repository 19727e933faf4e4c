package spiffe

import (
	"context"
	"strings"
	"testing"
)

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		opts    int
		wantErr string
	}{
		{"nothing", nil, 0, ""},
		{"standard variable", map[string]string{EndpointEnv: "unix:///tmp/agent.sock"}, 1, ""},
		{"forced", map[string]string{ForceEnv: "unix:///tmp/agent.sock", EndpointEnv: "unix:///elsewhere"}, 1, ""},
		{"subject", map[string]string{ForceEnv: "unix:///tmp/agent.sock", SubjectEnv: "spiffe://example.org/a"}, 1, ""},
		{"bad subject", map[string]string{ForceEnv: "unix:///tmp/agent.sock", SubjectEnv: "example.org/a"}, 0, SubjectEnv},
		{"bad address", map[string]string{ForceEnv: "http://agent"}, 0, "Workload API address"},
	}
	for _, tt := range tests {
		opts, src, err := FromEnv(func(k string) string { return tt.env[k] })
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: got %v, want an error containing %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || len(opts) != tt.opts || (tt.opts > 0) != (src != nil) {
			t.Errorf("%s: %d options, source %v, err %v", tt.name, len(opts), src, err)
		}
		if src != nil {
			src.Close()
		}
	}
}

// With no agent listening, a fetch fails at once and says where it tried.
func TestFetchWithoutAgent(t *testing.T) {
	src, err := NewSource("unix://" + t.TempDir() + "/agent.sock")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	_, err = src.FetchJWTSVID(context.Background(), "parsec")
	if err == nil || !strings.Contains(err.Error(), "SPIFFE Workload API at unix://") {
		t.Fatalf("got %v", err)
	}
}
