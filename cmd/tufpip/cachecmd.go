package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/tufpip/tufpip/updater/httpx"
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
		Use:   "verify",
		Short: "Re-hash every cached artifact against its content address",
		Long: `Re-hash every file in the artifact cache and check it against the hash it
is stored under. A file that fails was changed on disk after tufpip
verified it (tampering or corruption); tufpip would refuse it when next
asked for it anyway. Exit 1 if any file fails.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := g.openStore()
			if err != nil {
				return fmt.Errorf("opening artifact cache: %w", err)
			}
			res, err := store.Audit(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for path, why := range res.Bad {
				fmt.Fprintf(out, "FAILED  %s: %s\n", httpx.SafeLine(path), httpx.SafeLine(why))
			}
			fmt.Fprintf(out, "%d cached files checked, %d failed\n", res.Checked, len(res.Bad))
			if len(res.Bad) > 0 {
				return errSilent
			}
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
