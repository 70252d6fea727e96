// Command zipper writes a reproducible zip archive for a Lambda deployment
// package: entries in the order given, named by their base name, with a
// fixed modification time (1980-01-01, the zip epoch), Unix permissions 0755
// or 0644 (the executable bit of bootstrap matters to Lambda) and no other
// metadata from the build machine. The same inputs give the same bytes, so
// Terraform's source_code_hash changes only when the code does.
//
//	go run ./deployments/internal/zipper -o dist/forwarder.zip dist/lambda/bootstrap
//
// It prints the archive's size and its SHA-256 (hex, and base64 as Terraform's
// filebase64sha256 shows it).
package main

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// epoch is the earliest time a zip (DOS) timestamp can hold.
var epoch = time.Date(1980, time.January, 1, 0, 0, 0, 0, time.UTC)

func main() {
	out := flag.String("o", "", "output zip file (written atomically)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: zipper -o OUT.zip FILE...\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *out == "" || flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	sum, size, err := writeFile(*out, flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "zipper:", err)
		os.Exit(1)
	}
	fmt.Printf("%s: %.1f MiB (%d bytes)\n  sha256 %s\n  base64 %s (source_code_hash)\n",
		*out, float64(size)/(1<<20), size, hex.EncodeToString(sum), base64.StdEncoding.EncodeToString(sum))
}

// writeFile zips files into path through a temporary file in the same
// directory, and returns the archive's SHA-256 and size.
func writeFile(path string, files []string) ([]byte, int64, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, 0, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".zipper-*")
	if err != nil {
		return nil, 0, err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	h := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(tmp, h)}
	if err := write(cw, files); err != nil {
		tmp.Close()
		return nil, 0, err
	}
	if err := tmp.Close(); err != nil {
		return nil, 0, err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return nil, 0, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return nil, 0, err
	}
	return h.Sum(nil), cw.n, nil
}

// write writes the archive of files to w.
func write(w io.Writer, files []string) error {
	zw := zip.NewWriter(w)
	seen := map[string]bool{}
	for _, f := range files {
		name := filepath.Base(f)
		if seen[name] {
			return fmt.Errorf("two inputs named %q", name)
		}
		seen[name] = true
		if err := add(zw, f, name); err != nil {
			return err
		}
	}
	return zw.Close()
}

func add(zw *zip.Writer, path, name string) error {
	src, err := os.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()
	info, err := src.Stat()
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	mode := os.FileMode(0o644)
	if info.Mode().Perm()&0o111 != 0 {
		mode = 0o755
	}
	hdr := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: epoch}
	hdr.SetMode(mode) // also marks the entry as made on Unix
	dst, err := zw.CreateHeader(hdr)
	if err != nil {
		return err
	}
	n, err := io.Copy(dst, src)
	if err != nil {
		return fmt.Errorf("zip %s: %w", path, err)
	}
	if n != info.Size() {
		return errors.New(path + " changed while it was zipped")
	}
	return nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
