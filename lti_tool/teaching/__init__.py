"""What the tool does for teachers outside their page views: keeping each course's roster fresh."""
