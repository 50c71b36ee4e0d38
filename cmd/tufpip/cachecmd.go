package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func newCacheCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "cache",
		Short: "Inspect or clear the verified-artifact cache",
		Long: `The artifact cache holds only files whose length and hashes matched
TUF-signed target info; each is re-verified when read. Trusted metadata is
kept elsewhere (state, not cache) and is not touched by "cache clean".`,
	}
	c.AddCommand(&cobra.Command{
		Use:   "dir",
		Short: "Print the artifact cache directory",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), g.artifactDir())
			return nil
		},
	})
	c.AddCommand(&cobra.Command{
		Use:   "clean",
		Short: "Delete every cached artifact",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir := g.artifactDir()
			if _, err := os.Stat(dir); os.IsNotExist(err) {
				return nil
			}
			if err := os.RemoveAll(dir); err != nil {
				return fmt.Errorf("cleaning cache: %w", err)
			}
			if !g.quiet {
				fmt.Fprintf(cmd.OutOrStdout(), "removed %s\n", dir)
			}
			return nil
		},
	})
	return c
}
