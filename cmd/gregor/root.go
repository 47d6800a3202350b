package main

import "github.com/spf13/cobra"

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "gregor",
		Short: "A Kafka-protocol broker under deterministic simulation",
		Long: `gregor runs a whole cluster and its clients on one goroutine from one seed,
injects network partitions, crashes, clock skew and disk faults, and checks the
outcome. The same seed always replays the same run, byte for byte.

Start with:
  gregor sim               run one random seed of the default scenario
  gregor sim --seed 42     replay seed 42
  gregor sim --seeds 1..1000 -j 2
                           sweep seeds on two workers`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newVersionCmd(), newSimCmd(), newReplayCmd(), newShrinkCmd(), newBrokerCmd(), newClusterCmd(), newBenchCmd(), newReportCmd())
	return root
}
