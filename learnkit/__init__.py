"""learnkit: inspect, edit and PATCH Viva Learning course activities on Microsoft Graph."""
