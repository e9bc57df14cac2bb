"""What Sales adds to other pages: the panels of the 360° customer page."""
