#!/usr/bin/env python
"""Django's command-line utility for DeepBoot."""
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "deepboot_site.settings")
    from django.core.management import execute_from_command_line

    from deepboot.stopping import exit_watched

    with exit_watched():  # the command done, the process ends (within 30 s, with its stacks if stuck)
        execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
