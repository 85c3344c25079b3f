// Command pack lays out dist/ for the Azure Functions host and zips it:
//
//	pack -src . -handler bin/handler -dist dist -zip dist.zip
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/d365sap/d365sap/infra/local/pack"
)

func main() {
	src := flag.String("src", ".", "repository root: host.json and functions/<name>/function.json")
	handler := flag.String("handler", "bin/handler", "the built handler executable")
	dist := flag.String("dist", "dist", "output folder (replaced)")
	zipPath := flag.String("zip", "", "also write this zip of dist (empty: no zip)")
	flag.Parse()
	if err := run(*src, *handler, *dist, *zipPath); err != nil {
		fmt.Fprintln(os.Stderr, "pack:", err)
		os.Exit(1)
	}
}

func run(src, handler, dist, zipPath string) error {
	fns, err := pack.Layout(src, handler, dist)
	if err != nil {
		return fmt.Errorf("laying out %s: %w", dist, err)
	}
	if zipPath != "" {
		if err := pack.Zip(dist, zipPath); err != nil {
			return fmt.Errorf("zipping %s: %w", dist, err)
		}
	}
	fmt.Printf("pack: %d functions in %s", len(fns), dist)
	if zipPath != "" {
		fmt.Printf(" and %s", zipPath)
	}
	fmt.Println()
	return nil
}
