package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

func newRefreshCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "refresh",
		Short: "Run the TUF client workflow now and report the trusted versions",
		Long: `Run the full TUF client workflow against the repository: walk root
rotations forward, then fetch and verify timestamp, snapshot and targets.
Rollbacks, freezes (expired metadata), bad signatures and mix-and-match
are refused. The verified metadata is kept for later commands.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRefresh(cmd.Context(), g, cmd.OutOrStdout())
		},
	}
}

// runRefresh runs the TUF client workflow for the repository and prints
// the versions it now trusts.
func runRefresh(ctx context.Context, g *globals, out io.Writer) error {
	s, err := g.openSession(ctx)
	if err != nil {
		return err
	}
	if err := s.up.Refresh(ctx); err != nil {
		return err
	}
	st, err := s.up.Status(ctx)
	if err != nil {
		return err
	}
	if !g.quiet {
		fmt.Fprintf(out, "%s: root v%d, timestamp v%d, snapshot v%d, targets v%d (%d bins)\n",
			s.rc.Name, st.Roles["root"].Version, st.Roles["timestamp"].Version, st.Roles["snapshot"].Version, st.Roles["targets"].Version, st.Bins)
	}
	return nil
}
