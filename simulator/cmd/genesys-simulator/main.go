// Command genesys-simulator serves a deterministic Genesys Cloud stand-in
// (login, analytics API, EventBridge deliveries via /sim/emit) for the local
// stack, demos, integration tests and benchmarks.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/genesys-ingest/genesys-ingest/simulator"
)

// envFallbacks names the environment variable each flag falls back to when
// it is not given on the command line.
var envFallbacks = map[string]string{
	"listen":                      "SIM_LISTEN",
	"seed":                        "SIM_SEED",
	"conversations":               "SIM_CONVERSATIONS",
	"history":                     "SIM_HISTORY",
	"client-id":                   "SIM_CLIENT_ID",
	"client-secret":               "SIM_CLIENT_SECRET",
	"rate-limit-per-minute":       "SIM_RATE_LIMIT_PER_MINUTE",
	"token-rate-limit-per-minute": "SIM_TOKEN_RATE_LIMIT_PER_MINUTE",
	"token-lifetime":              "SIM_TOKEN_LIFETIME",
	"absent-for":                  "SIM_ABSENT_FOR",
	"wrapup-for":                  "SIM_WRAPUP_FOR",
	"base-time":                   "SIM_BASE_TIME",
	"spacing":                     "SIM_SPACING",
	"oversize-rate":               "SIM_OVERSIZE_RATE",
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "genesys-simulator:", err)
		os.Exit(1)
	}
}

func run() error {
	defaults := simulator.DefaultSettings()
	fs := flag.NewFlagSet("genesys-simulator", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8081", "address to listen on (port 0 picks one)")
	seed := fs.Int64("seed", 1, "seed of all generated data")
	conversations := fs.Int("conversations", 1000, "initial conversation pool; /sim/emit grows it")
	history := fs.Int("history", 0, "how many of the pool's first conversations are history: complete, never emitted (at most --conversations)")
	clientID := fs.String("client-id", "sim-client", "OAuth client id")
	clientSecret := fs.String("client-secret", "sim-secret", "OAuth client secret")
	rateLimit := fs.Int("rate-limit-per-minute", defaults.RateLimitPerMinute, "API requests per token per minute")
	tokenRateLimit := fs.Int("token-rate-limit-per-minute", defaults.TokenRateLimitPerMinute, "token requests per minute, all clients")
	tokenLifetime := fs.Duration("token-lifetime", defaults.TokenLifetime, "access token lifetime")
	absentFor := fs.Duration("absent-for", 0, "after emission, how long a conversation is missing from the API")
	wrapupFor := fs.Duration("wrapup-for", 0, "then how long it is served without conversationEnd and wrap-up")
	baseTime := fs.String("base-time", simulator.DefaultBaseTime.Format(time.RFC3339), "conversations start after this time (RFC 3339)")
	spacing := fs.Duration("spacing", simulator.ConversationSpacing, "start slot of each conversation: conversation i starts within [base+i*spacing, base+(i+1)*spacing)")
	oversizeRate := fs.Float64("oversize-rate", 0, "share of conversations (0 to 1) too large for a DynamoDB item even gzipped, about 4 MB each")
	if err := fs.Parse(os.Args[1:]); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	if err := applyEnv(fs); err != nil {
		return err
	}
	base, err := time.Parse(time.RFC3339, *baseTime)
	if err != nil {
		return fmt.Errorf("--base-time: %w", err)
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	settings := defaults
	settings.RateLimitPerMinute = *rateLimit
	settings.TokenRateLimitPerMinute = *tokenRateLimit
	settings.TokenLifetime = *tokenLifetime
	settings.AbsentFor = *absentFor
	settings.WrapupFor = *wrapupFor
	srv, err := simulator.New(simulator.Config{
		Seed: *seed, Conversations: *conversations, History: *history, ClientID: *clientID, ClientSecret: *clientSecret,
		BaseTime: base, Spacing: *spacing, OversizeRate: *oversizeRate, Settings: settings, Logger: logger,
	})
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	fmt.Printf("listening on http://%s\n", ln.Addr())
	return srv.Serve(ctx, ln)
}

// applyEnv sets every flag not given on the command line from its
// environment variable, through the flag's own parser.
func applyEnv(fs *flag.FlagSet) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for name, env := range envFallbacks {
		if v, ok := os.LookupEnv(env); ok && !given[name] {
			if err := fs.Set(name, v); err != nil {
				return fmt.Errorf("%s=%q: %w", env, v, err)
			}
		}
	}
	return nil
}
