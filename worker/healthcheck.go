package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/genesys-ingest/genesys-ingest/config"
	"github.com/genesys-ingest/genesys-ingest/config/workerconfig"
)

// healthcheckTimeout leaves the process time to start and print inside the
// three seconds a container health check is given.
const healthcheckTimeout = 2500 * time.Millisecond

// healthcheck runs `worker healthcheck [--ready]`, the container's health
// check: the image is distroless, with no shell or curl to ask the health
// endpoints, so the worker's own binary asks them. It returns the exit
// code: 0 when the endpoint answers 200, 1 otherwise, saying why.
func healthcheck(args []string, env config.Lookup, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	flags.SetOutput(stderr)
	ready := flags.Bool("ready", false, "ask /readyz (Temporal and the table answer now) instead of /healthz (the worker is alive and polling)")
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: worker healthcheck [--ready]\n\nExits 0 when the worker's health endpoint, at METRICS_ADDRESS, answers 200.")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		return 1
	}
	base, err := workerconfig.HealthURL(env)
	if err != nil {
		fmt.Fprintln(stderr, "worker healthcheck:", err)
		return 1
	}
	url := base + "/healthz"
	if *ready {
		url = base + "/readyz"
	}
	ctx, cancel := context.WithTimeout(context.Background(), healthcheckTimeout)
	defer cancel()
	status, body, err := get(ctx, url)
	if err != nil {
		fmt.Fprintln(stderr, "unhealthy:", err) // names the URL
		return 1
	}
	if status != http.StatusOK {
		fmt.Fprintf(stderr, "unhealthy: GET %s: %d %s: %s\n", url, status, http.StatusText(status), body)
		return 1
	}
	fmt.Fprintf(stdout, "healthy: GET %s: %s\n", url, body)
	return 0
}

// get returns the status and the first line of the body, which holds the
// reason (/healthz) or the whole JSON report (/readyz).
func get(ctx context.Context, url string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	// No proxy: HTTP_PROXY, set for the worker's way out, must not take a
	// request for this container elsewhere.
	client := &http.Client{Transport: &http.Transport{}}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(io.LimitReader(resp.Body, 4096)).ReadString('\n')
	if err != nil && err != io.EOF {
		return 0, "", fmt.Errorf("GET %s: reading the %d answer: %w", url, resp.StatusCode, err)
	}
	return resp.StatusCode, strings.TrimSpace(line), nil
}
