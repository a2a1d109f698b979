"""Background work: the job queue (RQ on Redis), its worker, and the scheduler.

Entry points, like the commands and the pages: each job calls the services below and
commits once. `queue.init_app` registers the queue as `app.extensions["job_queue"]`
when REDIS_URL is set; the services below (matching) hand work to it through that
name and never import this package. Without REDIS_URL nothing here is needed: runs
use a thread of the web worker and `flask jobs run NAME` runs scheduled work inline.
"""
