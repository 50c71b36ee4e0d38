package main

import (
	"context"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// loadResult summarises a closed-loop load run.
type loadResult struct {
	requests int
	errors   int64
	rps      float64
	p50, p99 time.Duration
}

// loadTest keeps conc clients busy fetching urls in turn for dur: each
// client sends its next request as soon as the previous answer has been
// read to the end. Latency is request start to last body byte.
func loadTest(urls []string, conc int, dur time.Duration) loadResult {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = conc
	tr.DisableCompression = true
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	var next atomic.Int64
	var errs atomic.Int64
	lats := make([][]time.Duration, conc)
	var wg sync.WaitGroup
	start := time.Now()
	for c := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64<<10)
			for ctx.Err() == nil {
				u := urls[int(next.Add(1))%len(urls)]
				t0 := time.Now()
				resp, err := client.Get(u)
				if err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
					}
					continue
				}
				_, err = io.CopyBuffer(io.Discard, resp.Body, buf)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					errs.Add(1)
					continue
				}
				lats[c] = append(lats[c], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	all := slices.Concat(lats...)
	slices.Sort(all)
	return loadResult{
		requests: len(all),
		errors:   errs.Load(),
		rps:      float64(len(all)) / el.Seconds(),
		p50:      percentile(all, 0.50),
		p99:      percentile(all, 0.99),
	}
}
