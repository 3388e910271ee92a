/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Removes a directory tree bottom-up, by descriptor: never following a symlink (a directory swapped for
 * one meanwhile included), never crossing a mount, with no PATH_MAX limit on the depth. A path that is not
 * a directory loses only its name. Returns 0 (also when path does not exist), or the first error (the walk
 * goes on). */
int rm_rf(const char *path);
