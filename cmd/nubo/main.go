// Command nubo is the whole cloud in one binary: `nubo up` runs it all on
// this machine; `nubo admin` bootstraps and inspects; `nubo version`.
//
// Shutdown order (nubo up): on SIGINT/SIGTERM the root context ends; the
// HTTP server stops accepting and drains in-flight requests (10 s at most);
// background loops return; the store closes last.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	root := &cobra.Command{
		Use:           "nubo",
		Short:         "Nubo: a private cloud in one binary, speaking OpenStack's APIs",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(upCmd(), agentCmd(), adminCmd(), versionCmd())
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "nubo:", err)
		os.Exit(1)
	}
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), "nubo", version)
			return nil
		},
	}
}
