package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tufpip/tufpip/updater"
	"github.com/tufpip/tufpip/updater/httpx"
)

func newStatusCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the trusted metadata: per role version, expiry and keys",
		Long: `Show what tufpip currently trusts for the repository: for each top-level
role its version, when it expires and how many keys (of which threshold)
sign it, plus the hash-bin delegation. Inside the freshness window this
reads the verified metadata on disk; --refresh asks the repository first.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := g.openSession(cmd.Context())
			if err != nil {
				return err
			}
			st, err := s.up.Status(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					Repository string `json:"repository"`
					updater.Status
				}{s.rc.Name, st})
			}
			fmt.Fprintf(out, "repository  %s\nmetadata    %s\nlayout      %s\nrefreshed   %s (%s)\n\n", s.rc.Name, httpx.RedactURL(s.rc.MetadataURL), s.rc.Layout, st.RefreshedAt.UTC().Format(time.RFC3339), st.Source)
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ROLE\tVERSION\tEXPIRES\tKEYS")
			now := updater.ClockFromEnv()()
			for _, name := range []string{"root", "timestamp", "snapshot", "targets"} {
				r := st.Roles[name]
				left := r.Expires.Sub(now).Round(time.Minute)
				fmt.Fprintf(tw, "%s\t%d\t%s (in %s)\t%d of %d\n", name, r.Version, r.Expires.UTC().Format(time.RFC3339), left, r.Threshold, r.Keys)
			}
			tw.Flush()
			if st.BinPrefix != "" {
				fmt.Fprintf(out, "\nbins        %d succinct hash bins %q (bit length %d)\n", st.Bins, st.BinPrefix+"-*", st.BitLength)
			} else if st.Bins > 0 {
				fmt.Fprintf(out, "\ndelegations %d\n", st.Bins)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
