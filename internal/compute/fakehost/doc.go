// Package fakehost is the host side of servers placed on simulated hosts
// (compute hosts whose driver is "fake"): for API conformance tests and
// scale simulation, never presented as the product. It follows the store's
// change feed through compute.Service.FollowServers and, for each server on
// a fake host with a host-side task pending (compute.HostTasks), reports
// compute.Outcome at once through compute.Service.ReportServers (the
// servers of one batch of the feed in one transaction), exactly as the real
// host agent will after its hypervisor driver did the work.
//
// What it does not model: guests, disks, consoles, networking on the host,
// timing and failures: every task finishes at once, except a snapshot
// (createImage, shelve), which waits Reconciler.SnapshotTime (2 s by
// default) after the task was set, so that clients see the image queued
// (Nova's SAVING) as they would on a real host, without holding up the
// other servers of its batch. It then copies the bytes of the server's
// base image into the new image, so the image becomes active with real,
// if unchanged, content.
//
// It imports neither net/http nor a store implementation.
package fakehost
